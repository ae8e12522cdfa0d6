//! Grid clients that do not follow WLCG Bearer Token Discovery, run for real against the XRootD
//! test server's HTTPS port (XrdHttp with the SciTokens plugin, trusting the test provider):
//!
//! | client | channel it reads |
//! | --- | --- |
//! | `gfal-copy`/`gfal-ls`/`gfal-rm` (gfal2 2.21, gfal2-util 1.8) | `BEARER_TOKEN` only, once at start, untrimmed |
//! | `davix-get`/`davix-put` (davix 0.8) | only `-H "Authorization: Bearer …"` |
//!
//! Each client family is checked twice: first the raw fact with the client alone (a token set by
//! hand), so that a change in Debian's packages shows up here as a broken fact and not as a
//! puzzling tok failure; then what tok does for that client (`tok exec` exports `BEARER_TOKEN`
//! to `gfal-*` and tells a davix user how to pass a header; `eval "$(tok env)"` exports both
//! channels). Traps kept in mind (REFERENCE, "XRootD + SciTokens"):
//! - gfal-copy stats the destination before an upload and gfal-rm looks up what it deletes, so
//!   both need `storage.read` beside `storage.create`/`storage.modify` (or, for the upload,
//!   `--just-copy`).
//! - The server caches what a token grants for 60 s, even past its expiry: no case relies on
//!   expiry; every refusal comes from the scope, the audience or the lack of a token.
//! - Scope paths match by plain prefix: the paths used (`/data`, `/other`, `/store`) share none.
//! - No stray token: each run gets the sealed `TestEnv` (private `XDG_RUNTIME_DIR`, no
//!   `BEARER_TOKEN*` unless a case sets it). gfal and davix read no token file at all (checked
//!   below with a valid `$XDG_RUNTIME_DIR/bt_u$UID`), and the one xrdcp run always has a token
//!   by variable or file, so a leftover `/tmp/bt_u$UID` cannot turn a refusal into a success.
//!   None is written there: it would leak into every other test on this machine.
//! - One server and one login per test; the four tests run in parallel.

use crate::common::xrootd::{self, XrootdServer, DATA_F, STORE_EXISTING};
use crate::common::{wait_with_timeout, Approval, Out, Provider, TestEnv};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

mod davix;
mod gfal;

pub(crate) const AUD: &str = "https://storage.tok-test.example";
/// A concrete audience the server does not accept (the "any" audience would be accepted).
const FOREIGN_AUD: &str = "https://other.example.org";
/// What the tests' account may ask for: read everywhere, write and delete under `/store`.
const LOGIN_SCOPES: &str = "storage.read:/ storage.create:/store storage.modify:/store";
/// The line tok prints when it exports BEARER_TOKEN for a client that reads only the variable.
pub(crate) const BEARER_NOTE: &str = "BEARER_TOKEN";

pub(crate) struct Grid {
    _provider: Provider,
    pub(crate) env: TestEnv,
    pub(crate) server: XrootdServer,
}

pub(crate) fn setup() -> Grid {
    // Missing packages fail here, loudly, before anything else starts.
    xrootd::check_installed();
    xrootd::check_http_clients_installed();
    let provider = Provider::start();
    let server = XrootdServer::start(&provider, AUD, "/");
    let mut env = TestEnv::new();
    for (k, v) in server.client_env() {
        env.set_env(&k, v);
    }
    // `tok env` picks its syntax from $SHELL, as in a user's bash.
    env.set_env("SHELL", "/bin/bash");
    env.login(
        &provider,
        &["cms", "--issuer", &provider.issuer, "--scope", LOGIN_SCOPES],
        Approval::Approve,
    )
    .ok();
    Grid {
        _provider: provider,
        env,
        server,
    }
}

impl Grid {
    /// `program args` in the sealed environment (tok on PATH, the server's client env) plus
    /// `vars`; an empty value unsets the variable.
    pub(crate) fn run(&self, program: &str, args: &[&str], vars: &[(&str, &str)]) -> Out {
        let mut cmd = self.env.program(program);
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in vars {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let out = wait_with_timeout(child, Duration::from_secs(120));
        Out {
            what: describe(program, args, vars),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `tok ARGS` in the sealed environment.
    pub(crate) fn tok(&self, args: &[&str]) -> Out {
        self.run(crate::common::tok_bin().to_str().unwrap(), args, &[])
    }

    /// A bash script in the sealed environment, as a user's shell would run it.
    fn bash(&self, script: &str, vars: &[(&str, &str)]) -> Out {
        self.run("bash", &["-c", script], vars)
    }

    fn token(&self, scope: &str, aud: &str) -> String {
        self.env.token(&["--scope", scope, "--aud", aud])
    }

    #[track_caller]
    pub(crate) fn ok(&self, out: &Out, why: &str) {
        if out.code != Some(0) {
            self.server.fail(&format!("should work: {why}"), out);
        }
    }

    /// Refused by the server: a non-zero exit and the refusal (`HTTP 403`) in the client's
    /// words, not some other failure (connection, TLS, usage).
    #[track_caller]
    pub(crate) fn refused(&self, out: &Out, why: &str) {
        if out.code == Some(0) || out.code.is_none() {
            self.server.fail(&format!("should be refused: {why}"), out);
        }
        if !out.stderr.contains("403") {
            self.server
                .fail(&format!("should be refused with HTTP 403: {why}"), out);
        }
    }

    /// `dest` holds exactly `want`.
    #[track_caller]
    pub(crate) fn holds(&self, out: &Out, dest: &Path, want: &[u8]) {
        let got = std::fs::read(dest).unwrap_or_default();
        if got != want {
            self.server.fail(
                &format!(
                    "{} should hold {} bytes, holds {}",
                    dest.display(),
                    want.len(),
                    got.len()
                ),
                out,
            );
        }
    }

    /// Nothing was written to `dest`: missing, or empty (davix-get leaves an empty file behind).
    #[track_caller]
    fn lacks(&self, out: &Out, dest: &Path) {
        let got = std::fs::read(dest).unwrap_or_default();
        if !got.is_empty() {
            self.server.fail(
                &format!("{} should not have been written", dest.display()),
                out,
            );
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.env.path().join(name)
    }

    pub(crate) fn file_url(&self, name: &str) -> String {
        format!("file://{}", self.path(name).display())
    }
}

/// The command line for a failure message; tokens (JWTs) are shortened, scripts kept whole.
fn describe(program: &str, args: &[&str], vars: &[(&str, &str)]) -> String {
    let short = |s: &str| {
        if s.starts_with("eyJ") && s.len() > 80 {
            format!("<{} chars: {}…>", s.len(), &s[..20])
        } else {
            s.to_string()
        }
    };
    let mut parts: Vec<String> = vars
        .iter()
        .map(|(k, v)| format!("{k}={}", short(v)))
        .collect();
    parts.push(program.to_string());
    parts.extend(args.iter().map(|a| short(a)));
    parts.join(" ")
}

/// A token file as the discovery readers want it: 0600, the token and a newline.
fn token_file(path: &Path, token: &str) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    writeln!(f, "{token}").unwrap();
}

/// `$XDG_RUNTIME_DIR/bt_u$UID` of the sealed environment (step 3 of discovery).
fn discovery_file(g: &Grid) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    g.path(&format!("run/bt_u{uid}"))
}

/// Lines of tok's (or anyone's) stderr that mention `needle`.
pub(crate) fn lines_with<'a>(stderr: &'a str, needle: &str) -> Vec<&'a str> {
    stderr.lines().filter(|l| l.contains(needle)).collect()
}
