//! Long jobs by delegation (issue 8): `tok delegate` trades the user's access token for a
//! delegated, narrowed refresh token (RFC 8693 at the real test provider), and a job renews its
//! tokens from that credential with no agent, no socket and no store.

use crate::common::{jwt_claims, wait_with_timeout, Approval, Provider, ProviderOpts, TestEnv};
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

mod credential;
mod jobs;

pub(crate) const AUD: &str = "https://se.example.org";

/// `tok delegate ARGS --out DIR/NAME` and the credential's path.
#[track_caller]
pub(crate) fn delegate(env: &TestEnv, name: &str, args: &[&str]) -> PathBuf {
    let path = env.path().join(name);
    let mut all = vec!["delegate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", path.to_str().unwrap()]);
    let out = env.run(&all).ok();
    assert!(out.stdout.is_empty(), "nothing on stdout\n{out}");
    path
}

pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// From now on this environment has no agent: it is stopped and may not be started.
pub(crate) fn without_agent(env: &mut TestEnv) {
    env.stop_agent();
    env.set_env("TOK_NO_AUTOSTART", "1");
}

fn scope_set(claims: &serde_json::Value) -> HashSet<String> {
    claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .map(str::to_string)
        .collect()
}

fn set(items: &[&str]) -> HashSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// The long-job wrappers, with the real tok binary and no agent on the "worker".

pub(crate) fn script(rel: &str) -> PathBuf {
    crate::common::repo().join("shell").join(rel)
}

pub(crate) fn output(what: &str, o: std::process::Output) -> crate::common::Out {
    crate::common::Out {
        what: what.to_string(),
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}
