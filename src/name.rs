//! The one rule for names tok builds paths, keys and file names from (account names, store
//! keys, token-file purposes, OpenBao path segments): ASCII letters, digits and `._-`, plus
//! what a given use also allows, so that no name can carry a space, a quote, a control
//! character or a path trick into a file name, a keyring description or a URL.

/// Whether `byte` may appear in a name that also allows `extra` bytes.
pub fn is_name_byte(byte: u8, extra: &[u8]) -> bool {
    byte.is_ascii_alphanumeric() || b"._-".contains(&byte) || extra.contains(&byte)
}

/// Whether `value` is a non-empty name of at most `max_len` bytes, each allowed by
/// [`is_name_byte`].
pub fn is_name(value: &str, max_len: usize, extra: &[u8]) -> bool {
    !value.is_empty() && value.len() <= max_len && value.bytes().all(|b| is_name_byte(b, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_digits_and_dot_underscore_dash_only() {
        assert!(is_name("cms-prod_1.x", 64, b""));
        assert!(!is_name("", 64, b""));
        assert!(!is_name("a b", 64, b""));
        assert!(!is_name("a/b", 64, b""));
        assert!(is_name("a/b", 64, b"/"));
        assert!(!is_name(&"a".repeat(65), 64, b""));
        assert!(!is_name("é", 64, b""));
    }
}
