//! tok: a per-user OAuth2/OIDC token agent and CLI for grid and HPC computing.
//!
//! Data flows one way: the CLI ([`cli`], [`cmd`]) talks through [`client`] over a Unix socket
//! ([`wire`], [`protocol`]) to the [`agent`], which talks to the provider ([`oauth`]) and keeps
//! refresh tokens in a [`store`]. Nothing below reaches back up.

pub mod agent;
pub mod args;
pub mod cli;
pub mod client;
pub mod clients;
pub mod cmd;
pub mod compat;
pub mod config;
#[doc(hidden)]
pub mod crashpoint;
pub mod credential;
pub mod dirs;
pub mod environ;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod inspect;
pub mod oauth;
pub mod presets;
pub mod protocol;
pub mod scope;
pub mod secret;
pub mod store;
pub mod terminal;
pub mod tokenfile;
pub mod wire;
pub mod wrappers;
