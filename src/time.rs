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
