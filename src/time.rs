//! Wall-clock helpers: the Unix-seconds unit every `expires_at` on the wire and in files uses,
//! and the one way messages show a time (RFC 3339, UTC).

/// Now, in the unit every `expires_at` on the wire uses: seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Formats unix seconds as an RFC 3339 UTC time, as messages show times.
pub fn rfc3339(unix: u64) -> String {
    let unix = unix.min(253_402_300_799); // 9999-12-31T23:59:59Z: humantime's range
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}

/// A span as people say it, to the nearest whole unit: "12 days", "5 hours", "1 minute",
/// "30 seconds" (11 days 23 hours is "12 days").
pub fn span(secs: u64) -> String {
    let nearest = |unit: u64| (secs + unit / 2) / unit;
    let (n, unit) = match secs {
        0..=119 => (secs, "second"),
        120..=7199 => (nearest(60), "minute"),
        7200..=172_799 => (nearest(3600), "hour"),
        _ => (nearest(86400), "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(super::span(1), "1 second");
        assert_eq!(super::span(90), "90 seconds");
        assert_eq!(super::span(5 * 3600 + 10), "5 hours");
        assert_eq!(super::span(12 * 86400 + 5), "12 days");
        assert_eq!(super::span(2 * 86400), "2 days");
        assert_eq!(super::span(12 * 86400 - 5), "12 days");
    }
}
