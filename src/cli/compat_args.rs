//! Arguments of the commands that help a user switch from oidc-agent (`tok import`), kept
//! beside `cli.rs` so its help, man page and completions come from the same types.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportSource {
    /// oidc-agent's password-encrypted account files (`oidc-gen`'s output, 2.1 or newer)
    OidcAgent,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where the accounts come from
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub from: ImportSource,
    /// Account short names to import (default: every account file in the directory); each
    /// becomes a tok account of the same name
    pub names: Vec<String>,
    /// oidc-agent's account directory (default: $OIDC_CONFIG_DIR, ~/.config/oidc-agent or
    /// ~/.oidc-agent, as oidc-agent looks)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Read the account files' encryption password from this file (mode 0600; else
    /// TOK_ASKPASS or a terminal prompt)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// After a successful import, rename each account file to NAME.imported-by-tok so
    /// oidc-agent stops using the same refresh token (nothing is revoked)
    #[arg(long)]
    pub retire: bool,
}
