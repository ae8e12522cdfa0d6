//! tok: a per-user OAuth2/OIDC token agent and CLI for grid and HPC computing.
//!
//! Data flows one way: the CLI ([`cli`], [`cmd`]) talks through [`client`] over a Unix socket
//! ([`wire`], [`protocol`]) to the [`agent`], which talks to the provider ([`oauth`]) and keeps
//! refresh tokens in a [`store`]. Nothing below reaches back up. ARCHITECTURE.md says where a
//! change goes.
//!
//! The modules, from the top down (a module imports only from its own level or below):
//! - front: [`cli`] (clap types: the one source of help, man pages and completions), [`cmd`]
//!   (one file per subcommand), [`error`] (exit codes), [`args`].
//! - client side: [`client`] (connect or start the agent), [`credential`] (a job's credential
//!   file, renewed without an agent), [`tokenfile`], [`environ`], [`wrappers`],
//!   [`grid_clients`] (how each grid client reads a token), [`inspect`] (linting a token).
//! - agent: [`agent`] (listener, sessions, policy, the one refresh core, cache).
//! - provider and stores: [`refresh`] (the one refresh sequence, whoever holds the refresh
//!   token: the agent or a job credential file), [`oauth`] (provider I/O), [`store`] (where
//!   refresh tokens live), [`presets`], [`config`].
//! - shared vocabulary: [`protocol`] (messages, wire enums, the credential file format),
//!   [`compat`] (oidc-agent's socket protocol and account files),
//!   [`wire`] (framing), [`scope`], [`secret`].
//! - ground: [`net`] (URL policy, HTTPS client + CA, capped wiped reads), [`dirs`] (paths and
//!   the private-file check), [`name`], [`time`], [`terminal`], [`crashpoint`] (debug builds).

// Front.
pub mod args;
pub mod cli;
pub mod cmd;
pub mod error;

// Client side.
pub mod client;
pub mod credential;
pub mod environ;
pub mod grid_clients;
pub mod inspect;
pub mod tokenfile;
pub mod wrappers;

// Agent.
pub mod agent;

// Provider and stores.
pub mod config;
pub mod oauth;
pub mod presets;
pub mod refresh;
pub mod store;

// Shared vocabulary.
pub mod compat;
pub mod protocol;
pub mod scope;
pub mod secret;
pub mod wire;

// Ground.
#[doc(hidden)]
pub mod crashpoint;
pub mod dirs;
pub mod name;
pub mod net;
#[cfg(test)]
mod readme_sections;
pub mod terminal;
pub mod time;

/// Entry points for the fuzz targets in fuzz/ (`--features fuzzing`; never in a release build).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
