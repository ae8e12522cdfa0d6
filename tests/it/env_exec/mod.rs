//! Tokens for shells and jobs: `tok env` evaluated by real shells, `tok exec` renewing a token
//! file under a running command, agent forwarding through a bridged socket, socket activation.

use crate::common::{Provider, ProviderOpts, TestEnv};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

mod env;
mod exec;
mod sockets;

fn has(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
