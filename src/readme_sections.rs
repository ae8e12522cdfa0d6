//! Test support: the README's generated sections (the wrapper table, the grid-client table)
//! checked against the code they are rendered from, one way for all of them. A stale section
//! fails its test; `TOK_REGENERATE=1` rewrites it instead.

use std::path::Path;

/// Checks (or, with `TOK_REGENERATE` set, rewrites) the README text between
/// `<!-- {name}: generated from {source} -->` and `<!-- end of {name} -->` against `want`;
/// `regenerate` is the command that rewrites it, named in the failure.
pub fn check(name: &str, source: &str, want: &str, regenerate: &str) {
    let begin = format!("<!-- {name}: generated from {source} -->\n");
    let end_marker = format!("<!-- end of {name} -->");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let start = readme
        .find(&begin)
        .unwrap_or_else(|| panic!("README.md lacks the marker {begin}"))
        + begin.len();
    let end = start
        + readme[start..]
            .find(&end_marker)
            .unwrap_or_else(|| panic!("README.md lacks the marker {end_marker}"));
    if readme[start..end] == *want {
        return;
    }
    if std::env::var_os("TOK_REGENERATE").is_some() {
        let new = format!("{}{want}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, new)
            .unwrap_or_else(|e| panic!("cannot rewrite {}: {e}", path.display()));
    } else {
        panic!("README.md's {name} table is stale: {regenerate}");
    }
}
