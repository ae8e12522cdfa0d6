//! Text from a provider, made safe to show on a terminal: an escape sequence in an error
//! description, a user code or a URL could clear the screen, set the window title, write the
//! clipboard (OSC 52) or draw a fake prompt.

use std::borrow::Cow;

/// `text` with every control character (C0 but newline and tab, DEL, C1) shown as `\u{…}`.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// [`printable`] on one line: newlines escaped too (a URL, a code).
pub fn one_line(text: &str) -> String {
    printable(text).replace('\n', "\\n").replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(printable("plain text\nline 2"), "plain text\nline 2");
        assert_eq!(printable("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(
            printable("\x1b]52;c;ZXZpbA==\x07"),
            "\\u{1b}]52;c;ZXZpbA==\\u{7}"
        );
        assert_eq!(printable("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(one_line("ABCD\nEFGH"), "ABCD\\nEFGH");
    }
}
