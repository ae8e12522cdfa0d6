//! A real grid storage server validates tok's tokens: XRootD with the SciTokens plugin, trusting
//! the test provider, read with the real `xrdcp` (which finds the token by WLCG discovery).
//! One server per test; each test logs in its own `cms` account.

use crate::common::xrootd::{XrootdServer, DATA_F};
use crate::common::{tok_bin, Out, Provider, TestEnv};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const AUD: &str = "https://storage.tok-test.example";

fn setup() -> (Provider, TestEnv, XrootdServer) {
    // Missing packages fail here, loudly, before anything else starts.
    crate::common::xrootd::check_installed();
    let provider = Provider::start();
    let server = XrootdServer::start(&provider, AUD, "/");
    let env = TestEnv::new();
    env.login_cms(&provider);
    (provider, env, server)
}

/// Writes a token file as the WLCG discovery readers want it: 0600, the token and a newline.
fn token_file(env: &TestEnv, name: &str, token: &str) -> PathBuf {
    let p = env.path().join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&p)
        .unwrap();
    writeln!(f, "{token}").unwrap();
    p
}

#[track_caller]
fn assert_read_ok(server: &XrootdServer, out: &Out, dest: &Path) {
    if out.code != Some(0) {
        server.fail("xrdcp should have read /data/f", out);
    }
    let got = std::fs::read(dest).unwrap_or_default();
    if got != DATA_F {
        server.fail(
            &format!("xrdcp wrote {} bytes, not the file's content", got.len()),
            out,
        );
    }
}

/// The server refused: `code` 52 = authentication failed at login (no or unusable token),
/// 54 = "[3010] permission denied" at open (valid token, wrong scope or audience). Any other
/// code would be a connection or setup problem, not a refusal.
#[track_caller]
fn assert_refused(server: &XrootdServer, out: &Out, dest: &Path, code: i32, why: &str) {
    if out.code == Some(0) || dest.exists() {
        server.fail(&format!("the server should refuse {why}"), out);
    }
    if out.code != Some(code) {
        server.fail(&format!("expected xrdcp exit {code} for {why}"), out);
    }
}

#[test]
fn xrdcp_with_tok_token_file_reads_and_wrong_scope_or_audience_is_refused() {
    let (_provider, env, server) = setup();

    // The right token: storage.read:/data for the server's audience.
    let good = env.token(&["--scope", "storage.read:/data", "--aud", AUD]);
    let good_file = token_file(&env, "good.tok", &good);
    let out_path = env.path().join("out");
    let out = server.xrdcp(
        "/data/f",
        &out_path,
        &[("BEARER_TOKEN_FILE", good_file.to_str().unwrap())],
    );
    assert_read_ok(&server, &out, &out_path);

    // No token at all: refused (and proves the sealed client env finds no stray token).
    let none = env.path().join("out-none");
    let out = server.xrdcp("/data/f", &none, &[]);
    assert_refused(&server, &out, &none, 52, "a client without a token");

    // A token for another path: refused.
    let other = env.token(&["--scope", "storage.read:/other", "--aud", AUD]);
    let other_file = token_file(&env, "other.tok", &other);
    let dest = env.path().join("out-other-scope");
    let out = server.xrdcp(
        "/data/f",
        &dest,
        &[("BEARER_TOKEN_FILE", other_file.to_str().unwrap())],
    );
    assert_refused(
        &server,
        &out,
        &dest,
        54,
        "a storage.read:/other token for /data/f",
    );
    // …while that same token reads /other/g, so the refusal above is about the scope.
    let g = env.path().join("g");
    let out = server.xrdcp(
        "/other/g",
        &g,
        &[("BEARER_TOKEN_FILE", other_file.to_str().unwrap())],
    );
    if out.code != Some(0)
        || std::fs::read(&g).unwrap_or_default() != crate::common::xrootd::OTHER_G
    {
        server.fail("a storage.read:/other token should read /other/g", &out);
    }

    // A token for another (concrete) audience: refused.
    let foreign = env.token(&[
        "--scope",
        "storage.read:/data",
        "--aud",
        "https://other.example.org",
    ]);
    let foreign_file = token_file(&env, "foreign.tok", &foreign);
    let dest = env.path().join("out-other-aud");
    let out = server.xrdcp(
        "/data/f",
        &dest,
        &[("BEARER_TOKEN_FILE", foreign_file.to_str().unwrap())],
    );
    assert_refused(
        &server,
        &out,
        &dest,
        54,
        "a token for https://other.example.org",
    );
}

#[test]
fn tok_exec_runs_xrdcp_with_a_fresh_token_file() {
    let (_provider, mut env, server) = setup();
    for (k, v) in server.client_env() {
        env.set_env(&k, v);
    }
    let dest = env.path().join("out");
    let url = server.url("/data/f");
    let out = env.run(&[
        "exec",
        "--scope",
        "storage.read:/data",
        "--aud",
        AUD,
        "--",
        "xrdcp",
        "-f",
        "-N",
        &url,
        dest.to_str().unwrap(),
    ]);
    assert_read_ok(&server, &out, &dest);
    let left: Vec<_> = std::fs::read_dir(env.path().join("run"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("bt_u"))
        .collect();
    assert!(
        left.is_empty(),
        "tok exec left its token file behind: {left:?}"
    );

    // The same through `tok exec` with a token for another path: xrdcp's refusal is tok's exit.
    let dest = env.path().join("out-other");
    let out = env.run(&[
        "exec",
        "--scope",
        "storage.read:/other",
        "--aud",
        AUD,
        "--",
        "xrdcp",
        "-f",
        "-N",
        &url,
        dest.to_str().unwrap(),
    ]);
    assert_refused(
        &server,
        &out,
        &dest,
        54,
        "tok exec with a storage.read:/other token",
    );
}

#[test]
fn tok_env_eval_then_plain_xrdcp() {
    let (_provider, mut env, server) = setup();
    for (k, v) in server.client_env() {
        env.set_env(&k, v);
    }
    // A stale BEARER_TOKEN in the shell would win over the file: `tok env` must replace it.
    env.set_env("BEARER_TOKEN", "stale-garbage");
    let dest = env.path().join("out");
    let script = format!(
        r#"set -e
eval "$("$TOK" env --shell bash --scope storage.read:/data --aud {AUD})"
test "$BEARER_TOKEN" = "$(cat "$BEARER_TOKEN_FILE")"
test -s "$BEARER_TOKEN_FILE"
xrdcp -f -N {url} {dest}
"#,
        url = server.url("/data/f"),
        dest = dest.display(),
    );
    // bash gets exactly the sealed environment `tok` itself would get.
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c").arg(&script).env_clear();
    for (k, v) in env.command(&[]).get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let output = cmd
        .env("TOK", tok_bin())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bash");
    let out = Out {
        what: format!("bash -c {script:?}"),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_read_ok(&server, &out, &dest);
}

/// Issue 8: a job with no agent renews its token from a delegated job credential, and the real
/// storage server accepts it.
#[test]
fn xrdcp_reads_with_a_token_renewed_from_a_job_credential() {
    let (_provider, mut env, server) = setup();
    for (k, v) in server.client_env() {
        env.set_env(&k, v);
    }
    let cred = env.path().join("job.cred");
    env.run(&[
        "delegate",
        "--scope",
        "storage.read:/data",
        "--aud",
        AUD,
        "--out",
        cred.to_str().unwrap(),
    ])
    .ok();
    env.stop_agent();
    env.set_env("TOK_NO_AUTOSTART", "1");
    let dest = env.path().join("out");
    let out = env.run(&[
        "exec",
        "--credential",
        cred.to_str().unwrap(),
        "--",
        "xrdcp",
        "-f",
        "-N",
        &server.url("/data/f"),
        dest.to_str().unwrap(),
    ]);
    assert_read_ok(&server, &out, &dest);
    assert!(!env.socket().exists(), "no agent was started");
}
