//! Text from AWS or an alias's marker made safe to show: the one rule for what a terminal or
//! a page would obey instead of showing (control characters, which start ANSI/CSI/OSC escape
//! sequences, and the bidirectional controls that reorder what a reader sees), and the one
//! visible form each is shown in.
//!
//! That form, `\u001b` or `\u202e`, is also a JSON escape of the same character, so a JSON
//! document passed through [`printable_lines`] stays the same document.

use std::borrow::Cow;

/// The bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and
/// marks (U+200E, U+200F, U+061C): invisible, they make text read in another order.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Whether `c` is shown in its visible form rather than as itself.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// The visible form of a character: `\u` and its four hex digits (every hidden character
/// is in the Basic Multilingual Plane).
pub fn visible(c: char) -> String {
    format!("\\u{:04x}", u32::from(c))
}

/// One line of text as it may be shown: every hidden character, line breaks included, in its
/// visible form (so neither an escape sequence nor a forged line reaches the terminal).
pub fn printable(text: &str) -> Cow<'_, str> {
    escaped(text, |_| false)
}

/// Text of several lines as it may be shown: as [`printable`], keeping its line breaks.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escaped(text, |c| c == '\n')
}

fn escaped(text: &str, kept: impl Fn(char) -> bool) -> Cow<'_, str> {
    let hidden = |c: char| is_hidden(c) && !kept(c);
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match hidden(c) {
            true => out.push_str(&visible(c)),
            false => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        // CSI (colour), OSC (window title, hyperlink) and a bell.
        let shown = printable("alarm \u{1b}[31mred\u{1b}]0;owned\u{7} é");
        assert_eq!(shown, "alarm \\u001b[31mred\\u001b]0;owned\\u0007 é");
        assert_eq!(printable("8-bit CSI \u{9b}2J"), "8-bit CSI \\u009b2J");
        assert_eq!(printable("del\u{7f}"), "del\\u007f");
    }

    #[test]
    fn bidirectional_controls_are_shown_not_obeyed() {
        let every = "\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}\u{200e}\u{200f}\u{61c}";
        assert_eq!(
            printable(&format!("invoice{every}fdp.exe")),
            "invoice\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061cfdp.exe"
        );
        // Text in another script, and joiners that make emoji, are text.
        assert_eq!(printable("مرحبا ‍👩‍💻 日本"), "مرحبا ‍👩‍💻 日本");
    }

    #[test]
    fn one_line_shows_its_breaks_and_several_lines_keep_them() {
        let forged = "looking into it\n[12:00:00] succeeded\r";
        assert_eq!(
            printable(forged),
            "looking into it\\u000a[12:00:00] succeeded\\u000d"
        );
        assert_eq!(
            printable_lines(forged),
            "looking into it\n[12:00:00] succeeded\\u000d"
        );
    }

    #[test]
    fn clean_text_is_unchanged_and_escaping_twice_changes_nothing() {
        assert!(matches!(printable("orders-errors"), Cow::Borrowed(_)));
        let once = printable("a\u{1b}[2J\u{202e}b\\n").into_owned();
        assert_eq!(printable(&once), once);
    }

    #[test]
    fn a_json_document_stays_the_same_document() {
        let value = serde_json::json!({"why": "a\u{202e}b\u{1b}[31m\\\u{9b}", "n": [1, 2]});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let shown = printable_lines(&text);
        assert!(!shown.chars().any(|c| is_hidden(c) && c != '\n'), "{shown}");
        let again: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(again, value);
    }
}
