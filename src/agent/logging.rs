//! The agent's log: `TOK_LOG` levels, dependencies held at `info`, and one event per line —
//! text from a provider (an error description with a newline or an escape sequence) cannot
//! forge a log line or drive the terminal of whoever reads the log.

use std::io::Write;

/// `TOK_LOG` sets tok's own level; dependencies stay at `info` or quieter so that no HTTP
/// library ever logs a request body, whatever level the user picks.
pub fn init() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let level = match std::env::var("TOK_LOG").as_deref() {
        Ok("trace") => LevelFilter::TRACE,
        Ok("debug") => LevelFilter::DEBUG,
        Ok("warn") => LevelFilter::WARN,
        Ok("error") => LevelFilter::ERROR,
        Ok("off") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    };
    let filter = Targets::new()
        .with_default(level.min(LevelFilter::INFO))
        .with_target("tok", level);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(|| OneLine(std::io::stderr()))
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .init();
}

/// Writes one formatted event with every control character but the final newline escaped.
struct OneLine<W: Write>(W);

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (body, end) = match buf.split_last() {
            Some((b'\n', body)) => (body, &b"\n"[..]),
            _ => (buf, &b""[..]),
        };
        let mut out = Vec::with_capacity(buf.len() + 16);
        for &b in body {
            // Escape C0 controls and DEL; UTF-8 bytes pass (C1 controls are rare in UTF-8
            // and terminals only honour them raw, which valid UTF-8 text never contains).
            if b < 0x20 && b != b'\t' || b == 0x7f {
                let _ = write!(out, "\\x{b:02x}");
            } else {
                out.push(b);
            }
        }
        out.extend_from_slice(end);
        self.0.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_and_escapes_inside_an_event_are_escaped() {
        let mut out = OneLine(Vec::new());
        out.write_all(b"refresh failed: bad\nFAKE line \x1b]0;title\x07\n")
            .unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert_eq!(
            text,
            "refresh failed: bad\\x0aFAKE line \\x1b]0;title\\x07\n"
        );
        assert_eq!(text.lines().count(), 1);
    }
}
