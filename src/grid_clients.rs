//! Where the grid's command-line clients really read a bearer token, so that `tok exec` and
//! `tok env` can deliver it the way each one needs without extra flags. WLCG Bearer Token
//! Discovery (`BEARER_TOKEN`, then `BEARER_TOKEN_FILE`, then `bt_u$UID`) is what a client
//! should follow, but not every one does (measured on Debian bookworm's packages). The table
//! below is the one source: the README's "Grid clients" table is checked against it by a test.
//! A client run through a wrapper (`timeout 90 gfal-copy …`) is found by [`crate::wrappers`].

use std::ffi::OsStr;
use std::path::Path;

/// How a client takes its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Follows discovery and reads the file each time it needs a token (xrdcp, ARC's clients):
    /// a renewed file reaches it, so the variable stays unset.
    Discovery,
    /// Reads only `BEARER_TOKEN`, once at start (gfal2's `gfal-*`): the variable must be set,
    /// and cannot be renewed while it runs.
    VariableOnly,
    /// Reads no variable and no file; only an `Authorization` header on its command line
    /// (davix's `davix-*`).
    HeaderOnly,
}

/// One row of the table: the program-name prefixes of a client, its channel, and what the
/// README says about it (each column as Markdown).
struct GridClient {
    prefixes: &'static [&'static str],
    channel: Channel,
    /// The client as the README names it, with the versions measured.
    client: &'static str,
    reads: &'static str,
    /// What `tok exec -- CLIENT …` does for it.
    exec: &'static str,
    /// How `eval "$(tok env …)"; CLIENT …` works for it.
    env: &'static str,
    caveats: &'static str,
}

const GRID_CLIENTS: &[GridClient] = &[
    GridClient {
        prefixes: &["xrd"],
        channel: Channel::Discovery,
        client: "`xrdcp` (xrootd-client 5.5.3)",
        reads: "discovery: `BEARER_TOKEN`, `BEARER_TOKEN_FILE`, `bt_u$UID`",
        exec: "the renewed file",
        env: "works (both exported)",
        caveats: "a `root://` connection keeps the token it logged in with; XRootD caches an authorization for 60 s",
    },
    GridClient {
        prefixes: &["gfal-"],
        channel: Channel::VariableOnly,
        client: "`gfal-copy`, `gfal-ls`, `gfal-rm`, … (gfal2 2.21.3, gfal2-util 1.8.0)",
        reads: "`BEARER_TOKEN` only, read once at start, not trimmed",
        exec: "also exports `BEARER_TOKEN` (said on stderr); not renewed while it runs",
        env: "works (`BEARER_TOKEN` exported, no trailing newline)",
        caveats: "`--file-only` leaves it without a token; with no token at all Debian's gfal2 first asks the storage for one (`RETRIEVE_BEARER_TOKEN`)",
    },
    GridClient {
        prefixes: &["davix-"],
        channel: Channel::HeaderOnly,
        client: "`davix-get`, `davix-put`, … (davix 0.8.4)",
        reads: "only `-H \"Authorization: Bearer …\"` on its command line",
        exec: "says on stderr how to pass the header",
        env: "does not apply: use `davix-get -H \"$(tok get -f header …)\" …`",
        caveats: "a header on the command line is visible in `ps` for the command's life",
    },
    GridClient {
        prefixes: &["arc"],
        channel: Channel::Discovery,
        client: "`arcsub`, `arcstat`, `arcget`, … (nordugrid-arc-client 6.17)",
        reads: "discovery, like xrdcp",
        exec: "the renewed file",
        env: "works",
        caveats: "6.17 clients also need an X.509 certificate or proxy; A-REX 6.17 checks only the first `aud` and gives `https://wlcg.cern.ch/jwt/v1/any` no meaning; a refused token shows only as \"no resource returned any information\"",
    },
];

/// The channel of the program `tok exec` is about to run, by the base name of the command;
/// a client not in the table is assumed to follow discovery.
pub fn channel_of(program: &OsStr) -> Channel {
    let name = Path::new(program)
        .file_name()
        .and_then(OsStr::to_str)
        .unwrap_or_default();
    GRID_CLIENTS
        .iter()
        .find(|c| c.prefixes.iter().any(|p| name.starts_with(p)))
        .map_or(Channel::Discovery, |c| c.channel)
}

/// The README's table of grid clients, rendered from the table above.
pub fn readme_table() -> String {
    let mut out = String::from(
        "| client (Debian bookworm) | reads | `tok exec -- CLIENT …` | `eval \"$(tok env …)\"; CLIENT …` | caveats |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for c in GRID_CLIENTS {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            c.client, c.reads, c.exec, c.env, c.caveats
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_known_by_the_base_name_of_the_command() {
        assert_eq!(channel_of(OsStr::new("gfal-copy")), Channel::VariableOnly);
        assert_eq!(
            channel_of(OsStr::new("/usr/bin/gfal-ls")),
            Channel::VariableOnly
        );
        assert_eq!(channel_of(OsStr::new("davix-get")), Channel::HeaderOnly);
        assert_eq!(channel_of(OsStr::new("xrdcp")), Channel::Discovery);
        assert_eq!(channel_of(OsStr::new("arcsub")), Channel::Discovery);
        assert_eq!(channel_of(OsStr::new("bash")), Channel::Discovery);
    }

    /// The README's grid-client table is rendered from `GRID_CLIENTS`; regenerate it with
    /// `TOK_REGENERATE=1 cargo test --lib grid_clients`.
    #[test]
    fn the_readme_table_is_up_to_date() {
        crate::readme_sections::check(
            "grid clients",
            "src/grid_clients.rs",
            &readme_table(),
            "TOK_REGENERATE=1 cargo test --lib grid_clients",
        );
    }
}
