//! `tok inspect` (and `tok get --inspect`): what an access token says and how it measures up to
//! the WLCG profile, the first question when a storage element refuses a token. The token comes
//! from the argument or stdin, so `tok get | tok inspect` works; the report holds claims only,
//! never the token. Decoding and the rules live in [`crate::inspect`]; this file reads, adds
//! the clock and the time zone, and prints.

use super::print_stdout;
use crate::cli::InspectArgs;
use crate::error::Error;
use crate::inspect::{self, Malformed, Token, MAX_TOKEN_BYTES};
use anyhow::Result;
use std::io::Read;
use zeroize::Zeroizing;

pub fn run(args: InspectArgs) -> Result<()> {
    let input = match args.token {
        None => read_stdin()?,
        Some(t) if t == "-" => read_stdin()?,
        Some(t) => Zeroizing::new(t),
    };
    let token = Zeroizing::new(inspect::extract(&input).map_err(malformed)?);
    let decoded = inspect::decode(&token).map_err(malformed)?;
    print_stdout(&report(&decoded, args.json))?;
    Ok(())
}

/// `tok get --inspect`: the report on stderr, so stdout stays the bare token. A token that
/// does not decode is only mentioned: the provider issued it, and the caller asked for it.
pub(crate) fn to_stderr(token: &str) {
    let text = match inspect::decode(token) {
        Ok(decoded) => report(&decoded, false),
        Err(e) => format!("tok: cannot inspect the token: {e}\n"),
    };
    eprint!("{text}");
}

fn malformed(e: Malformed) -> Error {
    Error::Usage(format!(
        "cannot inspect the token: {e} (tok inspect takes a JWT or opaque access token, e.g. `tok get | tok inspect`)"
    ))
}

fn read_stdin() -> Result<Zeroizing<String>, Error> {
    // SAFETY: isatty only looks at the descriptor.
    if unsafe { libc::isatty(0) } == 1 {
        eprintln!("tok inspect: reading a token from the terminal (paste it, then Ctrl-D); `tok get | tok inspect` pipes one");
    }
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(MAX_TOKEN_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Usage(format!("cannot read the token from stdin: {e}")))?;
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => Err(malformed(Malformed(
            "the input is not text (not UTF-8): not an access token".into(),
        ))),
    }
}

fn report(token: &Token, json: bool) -> String {
    let now = i64::try_from(crate::time::unix_now()).unwrap_or(i64::MAX);
    let findings = match token {
        Token::Jwt(jwt) => inspect::lint(jwt, now),
        _ => vec![],
    };
    if json {
        let mut s = serde_json::to_string_pretty(&inspect::to_json(token, &findings))
            .expect("claims serialise");
        s.push('\n');
        return s;
    }
    match token {
        Token::Jwt(jwt) => inspect::render(jwt, &findings, now, &local_time),
        other => format!("{}\n", inspect::undecodable(other).unwrap_or_default()),
    }
}

extern "C" {
    /// POSIX: reads `TZ` (glibc's `localtime_r`, unlike `localtime`, need not do it).
    fn tzset();
}

/// Unix seconds in the reader's time zone: `2026-12-02 11:00:00 CET`.
fn local_time(unix: i64) -> String {
    let utc = || crate::time::rfc3339(u64::try_from(unix).unwrap_or(0));
    // time_t is i64 on every 64-bit target tok builds for, glibc and musl alike (naming the
    // libc alias is deprecated on musl, whose 32-bit targets changed it).
    let t: i64 = unix;
    // SAFETY: an all-zero `tm` is a valid value (its zone pointer is null).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: tzset has no arguments; localtime_r writes only into `tm`, which outlives it.
    let converted = unsafe {
        tzset();
        !libc::localtime_r(&t, &mut tm).is_null()
    };
    if !converted {
        return utc();
    }
    let zone = if tm.tm_zone.is_null() {
        let off = tm.tm_gmtoff;
        format!(
            "{}{:02}{:02}",
            if off < 0 { '-' } else { '+' },
            off.abs() / 3600,
            off.abs() % 3600 / 60
        )
    } else {
        // SAFETY: glibc points tm_zone at a NUL-terminated string that lives as long as the
        // time-zone data.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {zone}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_time_is_a_readable_date() {
        let t = super::local_time(1_800_000_000);
        assert!(t.len() >= "2027-01-15 08:00:00 Z".len(), "{t}");
        assert!(t.starts_with("2027-01-1"), "{t}");
    }
}
