//! Text from data (file names, model metadata, session names, notes) made safe to print
//! on a terminal.
//!
//! A file named `$'\e]0;TITLE\a'x.wav` retitles the terminal when its name is printed
//! raw, and a newline in a name breaks a table row in two. Tables, logs, the monitor and
//! error messages show such characters escaped instead; JSON and CSV keep them exact
//! (their own quoting, [`csv_field`] for CSV, handles them).

use std::borrow::Cow;

/// `s` with every control character (C0, DEL, C1) written as a visible escape: `\n`,
/// `\t`, `\r`, `\e` for ESC, `\x07` and `\u{9b}` for the rest.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A CSV field, quoted when needed (RFC 4180): the text stays exact, control
/// characters included; CSV is for programs and spreadsheets, not terminals.
pub fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_and_the_rest_stays() {
        assert!(matches!(visible("Actor_01/ü é.wav"), Cow::Borrowed(_)));
        assert_eq!(visible("\u{1b}]0;TITLE\u{7}x.wav"), "\\e]0;TITLE\\x07x.wav");
        assert_eq!(
            visible("a\nb\tc\rd\u{7f}e\u{9b}f"),
            "a\\nb\\tc\\rd\\x7fe\\u{9b}f"
        );
    }
}
