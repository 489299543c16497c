//! The crate's own shape: its modules depend one way, so a reader can follow them in order
//! (validate → plan → alias, judgement → state → marker → engine) and no two need each other.
//! Read from the sources: every `crate::<module>` (and a top-level file's `super::`) outside
//! test code is an edge from the module it is written in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules in reading order, as the crate's docs list them: each may use the ones in
/// the rows before its own, never one in its own row or after it.
const ORDER: [&[&str]; 9] = [
    &["validate", "fields", "printable"],
    &["plan"],
    &[
        "alias",
        "alarms",
        "version",
        "provisioned",
        "wiring",
        "judgement",
    ],
    &["state"],
    &["marker"],
    &["set"],
    &["notification"],
    &["engine"],
    &["settings", "dashboard", "report"],
];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_module_of_the_core_imports_one_that_imports_it_back() {
    let graph = graph_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(
        graph
            .get("engine")
            .is_some_and(|uses| uses.contains("state")),
        "the sources were not read: {graph:?}"
    );
    let circles: Vec<String> = find_cycles(&graph)
        .iter()
        .map(|cycle| cycle.join(" → "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles in rollout-core: {}",
        circles.join("; ")
    );
}

#[test]
fn the_core_reads_in_order_validate_plan_alias_judgement_state_marker_engine() {
    let graph = graph_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let layer = |m: &str| ORDER.iter().position(|l| l.contains(&m));
    let unplaced: Vec<&String> = graph.keys().filter(|m| layer(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "not in ORDER (nor the crate's docs): {unplaced:?}"
    );
    let backwards: Vec<String> = graph
        .iter()
        .flat_map(|(from, uses)| uses.iter().map(move |to| (from, to)))
        .filter(|(from, to)| matches!((layer(from), layer(to)), (Some(f), Some(t)) if t >= f))
        .map(|(from, to)| format!("{from} uses {to}"))
        .collect();
    assert!(backwards.is_empty(), "out of order: {backwards:?}");
}

#[test]
fn a_circle_is_found_and_named() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .into_iter()
        .fold(Graph::new(), |mut g, (from, to)| {
            g.entry(from.into()).or_default().insert(to.into());
            g
        });
    assert_eq!(find_cycles(&graph), [["a", "b", "c", "a"]]);
    let lib = "pub mod state;\npub use state::{Rollout, Spec as S};\npub use plan::Plan;\n";
    assert_eq!(
        reexports(lib).into_iter().collect::<Vec<_>>(),
        [("Plan", "plan"), ("Rollout", "state"), ("S", "state")].map(|(n, m)| (n.into(), m.into()))
    );
    let mut open = graph.clone();
    open.remove("c");
    assert!(find_cycles(&open).is_empty());
    let file = "//! See crate::engine.\nuse crate::{plan::Plan, state};\nuse super::alias;\n\
                fn f() { crate::marker::parse(x) } // crate::dashboard\n\
                #[cfg(test)]\nmod tests { use crate::engine; }\n";
    assert_eq!(
        used_modules(file, true).into_iter().collect::<Vec<_>>(),
        ["alias", "marker", "plan", "state"]
    );
}

/// Which top-level modules each top-level module uses, outside its tests (an item used
/// through its re-export at the crate root counts as a use of the module it lives in).
fn graph_of(src: &Path) -> Graph {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("readable lib.rs");
    let home = reexports(&lib);
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).expect("under src");
        let parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
        let is_test = parts.iter().any(|p| *p == "tests" || *p == "tests.rs");
        if is_test || parts == ["lib.rs"] {
            continue;
        }
        let module = parts[0].trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(&file).expect("readable source");
        // In `src/x.rs` and `src/x/mod.rs`, `super::` is the crate root; deeper, it is `x`.
        let uses = used_modules(&text, parts.len() == 1 || parts[1..] == ["mod.rs"]);
        let uses = uses
            .into_iter()
            .map(|used| home.get(&used).cloned().unwrap_or(used));
        graph
            .entry(module.clone())
            .or_default()
            .extend(uses.filter(|m| *m != module));
    }
    graph
}

/// The module each name re-exported at the crate root (`pub use state::{Rollout, Spec};`)
/// lives in.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut home = BTreeMap::new();
    for statement in lib.split(';') {
        let Some((module, items)) = statement
            .split_once("pub use ")
            .and_then(|(_, path)| path.split_once("::"))
        else {
            continue;
        };
        for item in items.split([',', '{', '}']) {
            let item = item.trim();
            let name = item.rsplit(" as ").next().unwrap_or(item);
            if let Some(name) = ident(name.rsplit("::").next().unwrap_or(name)) {
                home.insert(name, module.trim().to_string());
            }
        }
    }
    home
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The modules `text` names as `crate::m` (also `crate::{m::…, n}`), and as `super::m` when
/// `super` is the crate root; comments and everything from a `#[cfg(test)]` at the start of
/// a line on are left out.
fn used_modules(text: &str, super_is_root: bool) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let roots: &[&str] = if super_is_root {
        &["crate::", "super::"]
    } else {
        &["crate::"]
    };
    for root in roots {
        for (at, _) in code.match_indices(root) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '$') {
                continue;
            }
            let rest = &code[at + root.len()..];
            match rest.strip_prefix('{') {
                Some(group) => found.extend(group_heads(group)),
                None => found.extend(ident(rest)),
            }
        }
    }
    found
}

/// The first name of each item of a `{a::b, c, d::{e, f}}` group (its `{` already taken).
fn group_heads(group: &str) -> Vec<String> {
    let (mut heads, mut depth, mut start) = (Vec::new(), 0, true);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                start = false;
                heads.extend(ident(&group[i..]));
            }
            _ => {}
        }
    }
    heads
}

fn ident(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name != "self").then_some(name)
}

/// The circles of `graph`, each as the path that closes it (`a → b → a`): one for every use
/// that leads back into the path a depth-first walk took to it.
fn find_cycles(graph: &Graph) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            cycles.push(cycle);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done, cycles);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let (mut done, mut cycles) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    cycles
}
