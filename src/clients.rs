//! Where the grid's command-line clients really read a bearer token, so that `tok exec` and
//! `tok env` can deliver it the way each one needs without extra flags. WLCG Bearer Token
//! Discovery (`BEARER_TOKEN`, then `BEARER_TOKEN_FILE`, then `bt_u$UID`) is what a client
//! should follow, but not every one does (measured on Debian bookworm's packages; README table).
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

/// One row of the table: a program-name prefix and its channel.
struct Client {
    prefix: &'static str,
    channel: Channel,
}

const CLIENTS: &[Client] = &[
    Client {
        prefix: "gfal-",
        channel: Channel::VariableOnly,
    },
    Client {
        prefix: "davix-",
        channel: Channel::HeaderOnly,
    },
];

/// The channel of the program `tok exec` is about to run, by the base name of the command.
pub fn channel_of(program: &OsStr) -> Channel {
    let name = Path::new(program)
        .file_name()
        .and_then(OsStr::to_str)
        .unwrap_or_default();
    CLIENTS
        .iter()
        .find(|c| name.starts_with(c.prefix))
        .map_or(Channel::Discovery, |c| c.channel)
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
}
