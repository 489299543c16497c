//! `rollout status`: an alias and the rollout its marker records, if any.

use rollout_core::alias::describe_alias;
use rollout_core::plan::format_seconds;
use rollout_core::validate::{check_alias, check_function_name};
use rollout_usecases::driver::DriveError;
use rollout_usecases::ports::AliasStore;
use serde_json::json;

use crate::args::{as_flags, AliasArgs, Global, Output};
use crate::exit::{CommandError, PROMOTED};

pub async fn status(args: &AliasArgs, global: &Global) -> Result<i32, CommandError> {
    check_function_name(&args.function).map_err(as_flags)?;
    check_alias(&args.alias).map_err(as_flags)?;
    let adapters = crate::aws::adapters(global).await?;
    let alias = adapters
        .aliases
        .get(&args.function, &args.alias)
        .await
        .map_err(DriveError::from)?;
    let marker = alias.marker();
    match global.output {
        Output::Json => {
            let rollout = marker.as_ref().map(|m| {
                json!({"rolloutId": m.rollout_id, "fromVersion": m.from_version, "toVersion": m.to_version,
                       "stepIndex": m.step_index, "status": m.status, "nextStepAt": m.next_step_at})
            });
            let routing = alias
                .routing
                .as_ref()
                .map(|(v, w)| json!({"version": v, "weight": w}));
            let out = json!({"functionName": args.function, "alias": args.alias, "version": alias.version,
                             "routing": routing, "aliasRevisionId": alias.revision_id, "rollout": rollout});
            out!(
                "{}",
                serde_json::to_string_pretty(&out).expect("status serializes")
            );
        }
        Output::Text => {
            out!(
                "{}:{} → {}",
                args.function,
                args.alias,
                describe_alias(&alias)
            );
            match marker {
                Some(m) => {
                    let next = m.next_step_at.map(|at| {
                        let left = (at - chrono::Utc::now()).num_seconds().max(0) as u64;
                        format!(", next step in {}", format_seconds(left))
                    });
                    out!(
                        "rollout {} ({} -> {}): {} at step {}{}",
                        m.rollout_id,
                        m.from_version,
                        m.to_version,
                        m.status.as_str(),
                        m.step_index + 1,
                        next.unwrap_or_default()
                    );
                    if !m.describes(&alias) {
                        out!("the alias no longer matches this record (moved by hand?); it is not acted upon");
                    }
                    for (what, text) in [("by", &m.by), ("why", &m.why)] {
                        if let Some(text) = text {
                            out!("{what}: {}", printable(text));
                        }
                    }
                }
                None => out!("no rollout recorded on this alias"),
            }
        }
    }
    Ok(PROMOTED)
}

/// Text from an alias description, safe for a terminal: control characters (an escape
/// sequence someone wrote there) are shown escaped, never sent raw.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_never_reach_the_terminal() {
        let shown = super::printable("alarm \u{1b}[31mred\u{7} é");
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(
            shown.contains("\\u{1b}[31mred") && shown.ends_with(" é"),
            "{shown}"
        );
    }
}
