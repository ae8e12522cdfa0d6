//! Scope and audience normalisation, so that equal requests share one cache entry and the
//! provider always receives WLCG-conformant values.

/// WLCG storage scopes (WLCG JWT profile §3.3.1): they take a path; a bare one means the whole
/// namespace (`:/`).
pub const STORAGE_SCOPES: &[&str] = &[
    "storage.read",
    "storage.create",
    "storage.modify",
    "storage.stage",
    "storage.poll",
];

/// WLCG compute scopes (WLCG JWT profile §3.3.2).
pub const COMPUTE_SCOPES: &[&str] = &[
    "compute.read",
    "compute.modify",
    "compute.create",
    "compute.cancel",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("scope `{0}` has a relative path; WLCG storage scopes need an absolute path such as `storage.read:/store`")]
    RelativePath(String),
    #[error("scope `{0}` contains a character that is not allowed in an OAuth scope")]
    BadCharacter(String),
    #[error("audience `{0}` is empty or contains whitespace")]
    BadAudience(String),
}

/// Splits space-separated arguments, expands bare storage scopes to `:/`, tidies storage paths,
/// and returns the sorted, de-duplicated set.
pub fn normalise_scopes<S: AsRef<str>>(args: &[S]) -> Result<Vec<String>, ScopeError> {
    let mut out = Vec::new();
    for arg in args {
        for scope in arg.as_ref().split_whitespace() {
            out.push(normalise_scope(scope)?);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn normalise_scope(scope: &str) -> Result<String, ScopeError> {
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if scope
        .bytes()
        .any(|b| !(b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)))
    {
        return Err(ScopeError::BadCharacter(scope.to_string()));
    }
    if STORAGE_SCOPES.contains(&scope) {
        return Ok(format!("{scope}:/"));
    }
    if let Some((name, path)) = scope.split_once(':') {
        if STORAGE_SCOPES.contains(&name) {
            if !path.starts_with('/') {
                return Err(ScopeError::RelativePath(scope.to_string()));
            }
            return Ok(format!("{name}:{}", tidy_path(path)));
        }
    }
    Ok(scope.to_string())
}

/// Collapses repeated slashes and drops a trailing one, so `/store//a/` and `/store/a` match.
fn tidy_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

/// Whether a granted scope covers a requested one: the same scope, or a WLCG storage scope of
/// the same kind on an ancestor path (whole components: `storage.read:/a` covers
/// `storage.read:/a/b`, not `storage.read:/ab`). Both must be normalised.
pub fn covers(granted: &str, requested: &str) -> bool {
    if granted == requested {
        return true;
    }
    let (Some((g_kind, g_path)), Some((r_kind, r_path))) =
        (granted.split_once(':'), requested.split_once(':'))
    else {
        return false;
    };
    if g_kind != r_kind || !STORAGE_SCOPES.contains(&g_kind) {
        return false;
    }
    g_path == "/"
        || r_path
            .strip_prefix(g_path)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Scopes that say how a token was obtained rather than what it may do; a provider may put them
/// in a token's scope whatever was asked.
const GRANT_ONLY_SCOPES: &[&str] = &["openid", "offline_access"];

/// The granted scopes no requested scope covers: what a provider gave beyond the request.
pub fn beyond<'a>(granted: &'a [String], requested: &[String]) -> Vec<&'a str> {
    granted
        .iter()
        .map(String::as_str)
        .filter(|g| !GRANT_ONLY_SCOPES.contains(g))
        .filter(|g| !requested.iter().any(|r| covers(r, g)))
        .collect()
}

/// Normalises audiences: an origin loses its trailing slash and default port, as the WLCG
/// profile writes them (`https://se.example.org`). Sorted and de-duplicated.
pub fn normalise_audiences<S: AsRef<str>>(args: &[S]) -> Result<Vec<String>, ScopeError> {
    let mut out = Vec::new();
    for arg in args {
        for aud in arg.as_ref().split_whitespace() {
            out.push(normalise_audience(aud)?);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn normalise_audience(aud: &str) -> Result<String, ScopeError> {
    if aud.is_empty() || aud.chars().any(char::is_whitespace) {
        return Err(ScopeError::BadAudience(aud.to_string()));
    }
    match url::Url::parse(aud) {
        // Only a bare origin is rewritten; anything with a path is someone's exact identifier.
        Ok(u) if u.has_host() && (u.path() == "/" || u.path().is_empty()) && !aud.contains('?') => {
            let mut s = format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default());
            if let Some(port) = u.port() {
                s.push_str(&format!(":{port}"));
            }
            Ok(s)
        }
        _ => Ok(aud.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_scopes_cover_whole_subpaths_only() {
        assert!(covers("storage.read:/", "storage.read:/a"));
        assert!(covers("storage.read:/a", "storage.read:/a/b"));
        assert!(covers("storage.read:/a", "storage.read:/a"));
        assert!(!covers("storage.read:/a", "storage.read:/ab"));
        assert!(!covers("storage.read:/a/b", "storage.read:/a"));
        assert!(!covers("storage.read:/", "storage.modify:/"));
        assert!(!covers("compute.create", "compute.cancel"));
        assert!(!covers("wlcg.groups:/", "wlcg.groups:/cms"));
    }

    #[test]
    fn beyond_lists_only_what_no_request_covers() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let asked = s(&["storage.read:/a"]);
        assert!(beyond(&s(&["storage.read:/a/b", "openid"]), &asked).is_empty());
        assert_eq!(
            beyond(&s(&["storage.read:/", "compute.create"]), &asked),
            ["storage.read:/", "compute.create"]
        );
    }

    #[test]
    fn bare_storage_scope_means_root() {
        assert_eq!(
            normalise_scopes(&["storage.read"]).unwrap(),
            vec!["storage.read:/"]
        );
    }

    #[test]
    fn space_separated_and_repeated_are_merged_sorted_deduped() {
        let got = normalise_scopes(&[
            "storage.read:/b compute.create",
            "storage.read:/b/",
            "openid",
        ])
        .unwrap();
        assert_eq!(got, vec!["compute.create", "openid", "storage.read:/b"]);
    }

    #[test]
    fn storage_paths_are_tidied() {
        assert_eq!(
            normalise_scopes(&["storage.modify://a//b/"]).unwrap(),
            vec!["storage.modify:/a/b"]
        );
    }

    #[test]
    fn relative_storage_path_is_refused() {
        assert!(matches!(
            normalise_scopes(&["storage.read:atlas"]),
            Err(ScopeError::RelativePath(_))
        ));
    }

    #[test]
    fn bad_characters_are_refused() {
        assert!(normalise_scopes(&["a\"b"]).is_err());
    }

    #[test]
    fn audiences_are_origins_without_slash_or_default_port() {
        let got = normalise_audiences(&[
            "https://se.example.org/",
            "https://se.example.org:443",
            "https://se2.example.org:8443/",
            "https://wlcg.cern.ch/jwt/v1/any",
            "my-service",
        ])
        .unwrap();
        assert_eq!(
            got,
            vec![
                "https://se.example.org",
                "https://se2.example.org:8443",
                "https://wlcg.cern.ch/jwt/v1/any",
                "my-service"
            ]
        );
    }
}
