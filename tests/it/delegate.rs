//! Long jobs by delegation (issue 8): `tok delegate` trades the user's access token for a
//! delegated, narrowed refresh token (RFC 8693 at the real test provider), and a job renews its
//! tokens from that credential with no agent, no socket and no store.

use crate::common::{jwt_claims, wait_with_timeout, Approval, Provider, ProviderOpts, TestEnv};
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

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

#[test]
fn delegate_writes_a_private_narrowed_credential_that_works_without_an_agent() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    let user_tokens: HashSet<String> = provider
        .live_refresh_tokens()
        .iter()
        .filter_map(|r| r["value"].as_str().map(str::to_string))
        .collect();

    let path = env.path().join("job.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/data compute.create",
            "--aud",
            AUD,
            "--lifetime",
            "2d",
            "--out",
            path.to_str().unwrap(),
        ])
        .ok();
    assert!(out.stdout.is_empty(), "{out}");
    for want in [
        "storage.read:/data",
        "compute.create",
        AUD,
        "valid until",
        path.to_str().unwrap(),
    ] {
        assert!(out.stderr.contains(want), "summary lacks {want}\n{out}");
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let cred = read_json(&path);
    assert_eq!(cred["tok_credential"], 1);
    assert_eq!(cred["issuer"], provider.issuer.as_str());
    assert_eq!(
        cred["scopes"],
        serde_json::json!(["compute.create", "storage.read:/data"])
    );
    assert_eq!(cred["audiences"], serde_json::json!([AUD]));
    assert!(
        cred.get("client_secret").is_none(),
        "a public client has no secret"
    );
    let now = crate::common::unix_now();
    let not_after = cred["not_after"].as_u64().unwrap();
    assert!(not_after.abs_diff(now + 2 * 86400) < 60, "{cred}");
    let delegated_rt = cred["refresh_token"].as_str().unwrap().to_string();
    assert!(
        !user_tokens.contains(&delegated_rt),
        "the credential holds a delegated token, never the user's"
    );
    let delegated: Vec<_> = provider
        .live_refresh_tokens()
        .into_iter()
        .filter(|r| r["value"] == delegated_rt.as_str())
        .collect();
    assert_eq!(delegated.len(), 1, "the provider knows the delegated token");
    assert_eq!(delegated[0]["delegated"], true);

    // The agent records the delegation, and `tok status` shows it (never the token).
    let status = env.run(&["status", "--json"]).ok();
    let d = &status.json()["accounts"][0]["delegations"][0];
    assert_eq!(d["id"], cred["id"], "{status}");
    assert!(d["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    assert!(!status.stdout.contains(&delegated_rt));
    let text = env.run(&["status"]).ok();
    assert!(text.stdout.contains(cred["id"].as_str().unwrap()), "{text}");
    assert!(
        env.agent_log().contains("delegated a job credential"),
        "{}",
        env.agent_log()
    );

    // In the job: no agent. Tokens carry exactly the delegated scopes and audience.
    without_agent(&mut env);
    let before = provider.stats()["token_requests"].as_u64().unwrap();
    let token = env.token(&["--credential", path.to_str().unwrap()]);
    let claims = jwt_claims(&token);
    assert_eq!(
        scope_set(&claims),
        set(&["compute.create", "storage.read:/data"])
    );
    assert_eq!(claims["aud"], AUD);
    // Narrower is fine.
    let token = env.token(&[
        "--credential",
        path.to_str().unwrap(),
        "-s",
        "storage.read:/data/mc",
    ]);
    assert_eq!(jwt_claims(&token)["scope"], "storage.read:/data/mc");
    // Wider is refused by tok before the provider is asked.
    let after_ok = provider.stats()["token_requests"].as_u64().unwrap();
    assert_eq!(after_ok, before + 2);
    for args in [
        vec!["-s", "storage.read:/"],
        vec!["-s", "storage.modify:/data"],
        vec!["--aud", "https://other.example.org"],
    ] {
        let mut all = vec!["get", "--credential", path.to_str().unwrap()];
        all.extend(args);
        let out = env.run(&all).code(5);
        assert!(out.stderr.contains("does not cover"), "{out}");
    }
    assert_eq!(
        provider.stats()["token_requests"].as_u64().unwrap(),
        after_ok
    );
    // `--credential` with an account is a usage error; the credential path never starts an agent.
    env.run(&["get", "--credential", path.to_str().unwrap(), "-a", "cms"])
        .code(2);
    assert!(!env.socket().exists(), "no agent was started");
}

/// A confidential client's secret and the account's CA file travel in the credential (and the
/// summary says so): a worker node trusts only its system store and knows nothing of the client.
#[test]
fn the_credential_carries_the_client_secret_and_the_accounts_ca_to_worker_nodes() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let ca = env.ca_file().to_str().unwrap().to_string();
    let secret = env.path().join("client.secret");
    std::fs::write(&secret, "s3cret-client\n").unwrap();
    env.login(
        &provider,
        &[
            "cms",
            "--issuer",
            &provider.issuer,
            "--client-id",
            "tok-confidential",
            "--client-secret-file",
            secret.to_str().unwrap(),
            "--ca-file",
            &ca,
            "--scope",
            "storage.read:/",
        ],
        Approval::Approve,
    )
    .ok();
    let path = env.path().join("job.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/x",
            "--out",
            path.to_str().unwrap(),
        ])
        .ok();
    assert!(
        out.stderr
            .contains("secret of the confidential client `tok-confidential`"),
        "{out}"
    );
    let cred = read_json(&path);
    assert_eq!(cred["client_id"], "tok-confidential");
    assert_eq!(cred["client_secret"], "s3cret-client");
    assert!(cred["ca_pem"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    // A worker node that trusts only the system store.
    without_agent(&mut env);
    env.set_env("SSL_CERT_FILE", "");
    let token = env.token(&["--credential", path.to_str().unwrap()]);
    assert_eq!(jwt_claims(&token)["scope"], "storage.read:/x");
    assert_eq!(jwt_claims(&token)["client_id"], "tok-confidential");
    let copy = env.path().join("copy.cred");
    std::fs::copy(&path, &copy).unwrap();
    env.run(&["revoke", "--credential", path.to_str().unwrap()])
        .ok();
    env.run(&["get", "--credential", copy.to_str().unwrap()])
        .code(3);
}

#[test]
fn expiry_provider_cap_revocation_and_logout() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);

    // not_after is tok's own limit, even where the provider would still accept the token.
    let short = delegate(
        &env,
        "short.cred",
        &["-s", "storage.read:/x", "--lifetime", "1s"],
    );
    std::thread::sleep(Duration::from_millis(2100));
    let out = env
        .run(&["get", "--credential", short.to_str().unwrap()])
        .code(3);
    assert!(out.stderr.contains("expired"), "{out}");

    // The provider caps the lifetime, and the summary says so.
    provider.set_delegation_ttl(3600);
    let path = env.path().join("capped.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/x",
            "--out",
            path.to_str().unwrap(),
        ])
        .ok();
    assert!(out.stderr.contains("capped by the provider"), "{out}");
    let not_after = read_json(&path)["not_after"].as_u64().unwrap();
    assert!(not_after <= crate::common::unix_now() + 3600);
    provider.set_delegation_ttl(7 * 86400);

    // Revocation ends the delegated grant only: the user's account keeps working.
    let revoked = delegate(&env, "revoked.cred", &["-s", "storage.read:/x"]);
    let copy = env.path().join("copy.cred");
    std::fs::copy(&revoked, &copy).unwrap();
    let id = read_json(&revoked)["id"].as_str().unwrap().to_string();
    let out = env
        .run(&["revoke", "--credential", revoked.to_str().unwrap()])
        .ok();
    assert!(out.stderr.contains("revoked"), "{out}");
    assert!(!revoked.exists(), "the file is removed");
    let status = env.run(&["status", "--json"]).ok();
    assert!(
        !status.stdout.contains(&id),
        "a revoked credential is not listed\n{status}"
    );
    let out = env
        .run(&["get", "--credential", copy.to_str().unwrap()])
        .code(3);
    assert!(out.stderr.contains("no longer accepts"), "{out}");
    env.token(&["-s", "storage.read:/after-revoke"]);

    // The user's logout (which revokes the user's own refresh token) leaves credentials alive.
    let kept = delegate(&env, "kept.cred", &["-s", "storage.read:/x"]);
    env.run(&["logout", "cms"]).ok();
    let token = env.token(&["--credential", kept.to_str().unwrap()]);
    assert_eq!(jwt_claims(&token)["scope"], "storage.read:/x");
}

#[test]
fn a_provider_without_token_exchange_gets_a_clear_error() {
    let provider = Provider::start_with(ProviderOpts {
        token_exchange: false,
        ..Default::default()
    });
    let env = TestEnv::new();
    env.login_cms(&provider);
    let path = env.path().join("job.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/x",
            "--out",
            path.to_str().unwrap(),
        ])
        .code(5);
    assert!(out.stderr.contains("token exchange"), "{out}");
    assert!(
        out.stderr.contains("credmon"),
        "names the alternatives\n{out}"
    );
    assert!(!path.exists());
}

/// The acceptance test of issue 8: a 20 s job with 4 s tokens at a rotating provider, the agent
/// stopped and forbidden to start.
#[test]
fn a_long_job_renews_from_its_credential_with_no_agent() {
    let provider = Provider::start_with(ProviderOpts {
        at_ttl: 4,
        rotate: true,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    let path = delegate(
        &env,
        "job.cred",
        &["-s", "storage.read:/data", "--aud", AUD],
    );
    let first_rt = read_json(&path)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let agent_log = env.agent_log();
    without_agent(&mut env);

    let seen = env.path().join("seen");
    let script = format!(
        r#"i=0
while [ $i -lt 800 ]; do
  t=$(cat "$BEARER_TOKEN_FILE") || exit 9
  [ -n "$t" ] || exit 8
  case "$t" in *.*.*) ;; *) exit 7 ;; esac
  printf '%s\n' "$t" >> {seen}
  i=$((i+1))
  sleep 0.025
done
exit 42"#,
        seen = seen.display()
    );
    let child = env
        .command(&[
            "exec",
            "--credential",
            path.to_str().unwrap(),
            "--",
            "bash",
            "-c",
            &script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // No token of any kind on a command line while the job runs.
    let mut argv_seen = String::new();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(1500));
        argv_seen.push_str(&all_command_lines());
    }
    let out = wait_with_timeout(child, Duration::from_secs(90));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(42), "{stderr}");
    let tokens: HashSet<String> = std::fs::read_to_string(&seen)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        tokens.len() >= 3,
        "at least two renewals, saw {} tokens\n{stderr}",
        tokens.len()
    );
    for t in &tokens {
        let claims = jwt_claims(t);
        assert_eq!(claims["scope"], "storage.read:/data");
        assert_eq!(claims["aud"], AUD);
    }
    // Rotations were written back, and the file still works afterwards.
    let last_rt = read_json(&path)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(last_rt, first_rt, "the provider rotated and tok kept up");
    env.token(&["--credential", path.to_str().unwrap()]);
    assert!(!env.socket().exists(), "no agent was started");

    let mut secrets = vec![first_rt, last_rt];
    secrets.extend(
        provider
            .live_refresh_tokens()
            .iter()
            .filter_map(|r| r["value"].as_str().map(str::to_string)),
    );
    for secret in &secrets {
        for (what, text) in [
            ("tok exec's stderr", &stderr),
            ("agent.log", &agent_log),
            ("a command line", &argv_seen),
        ] {
            assert!(!text.contains(secret.as_str()), "a refresh token in {what}");
        }
    }
}

/// Every process's command line, as `ps` would show them.
fn all_command_lines() -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path().join("cmdline")) {
            all.push_str(&String::from_utf8_lossy(&bytes).replace('\0', " "));
            all.push('\n');
        }
    }
    all
}

#[test]
fn parallel_steps_of_one_job_never_lose_a_rotation() {
    let provider = Provider::start_with(ProviderOpts {
        rotate: true,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    let path = delegate(&env, "job.cred", &["-s", "storage.read:/p"]);
    without_agent(&mut env);
    let p = path.to_str().unwrap().to_string();
    for _ in 0..2 {
        // A lost rotation would make the provider see a reused token and end the grant.
        let tokens = env.run_concurrently(6, &["get", "--credential", &p]);
        assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), 6);
    }
    env.token(&["--credential", &p]);
}

// ---------------------------------------------------------------------------------------------
// The long-job wrappers, with the real tok binary and no agent on the "worker".

pub(crate) fn script(rel: &str) -> PathBuf {
    crate::common::repo().join("shell").join(rel)
}

/// A worker-node command: the sealed environment, no agent allowed, and no tok in PATH (worker
/// nodes have none; the job brings its own).
fn worker(
    env: &TestEnv,
    program: impl AsRef<std::ffi::OsStr>,
    dir: &Path,
) -> std::process::Command {
    let mut cmd = env.program(program);
    cmd.current_dir(dir)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("TOK_NO_AUTOSTART", "1")
        .env_remove("XDG_RUNTIME_DIR");
    cmd
}

pub(crate) fn output(what: &str, o: std::process::Output) -> crate::common::Out {
    crate::common::Out {
        what: what.to_string(),
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// What the payload writes: the token it found, and where.
const PAYLOAD: &str =
    r#"cat "$BEARER_TOKEN_FILE" > token.out; echo "$BEARER_TOKEN_FILE" > path.out; exit 7"#;

#[test]
fn htcondor_long_job_route_with_the_real_tok_and_no_agent() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let submit = env.path().join("submit");
    std::fs::create_dir(&submit).unwrap();
    let out = env
        .program(script("htcondor/tok-condor-submit"))
        .current_dir(&submit)
        .args(["--delegate", "1d", "-s", "storage.read:/data", "--aud", AUD])
        .output()
        .unwrap();
    let out = output("tok-condor-submit --delegate 1d", out).ok();
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("transfer_input_files = "))
        .unwrap_or_else(|| panic!("no transfer line\n{out}"))
        .to_string();
    let files: Vec<&str> = line.split(", ").collect();
    assert_eq!(files.len(), 2, "{out}");
    assert_eq!(files[0], "tok.cred");
    assert!(files[1].ends_with("/tok"), "{out}");
    assert!(out.stderr.contains("valid until"), "tok's summary\n{out}");

    // With condor_submit named, a submit file that forgets tok or the credential is warned about.
    let fake = env.path().join("bin");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(
        fake.join("condor_submit"),
        "#!/bin/sh\necho submitted \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        fake.join("condor_submit"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        submit.join("job.sub"),
        "executable = tok-job-wrapper\ntransfer_input_files = tok.cred\nqueue\n",
    )
    .unwrap();
    let path_var = format!(
        "{}:{}",
        fake.display(),
        env.command(&[])
            .get_envs()
            .find(|(k, _)| *k == "PATH")
            .unwrap()
            .1
            .unwrap()
            .to_string_lossy()
    );
    let out = env
        .program(script("htcondor/tok-condor-submit"))
        .current_dir(&submit)
        .env("PATH", path_var)
        .args([
            "--delegate",
            "1d",
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--",
            "condor_submit",
            "job.sub",
        ])
        .output()
        .unwrap();
    let out = output(
        "tok-condor-submit --delegate 1d -- condor_submit job.sub",
        out,
    )
    .ok();
    assert!(out.stdout.contains("submitted job.sub"), "{out}");
    assert!(
        out.stderr.contains("does not list") && out.stderr.contains("/tok"),
        "{out}"
    );
    env.stop_agent();

    // HTCondor's side: the files arrive in the scratch directory, maybe without their modes.
    let scratch = env.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    std::fs::copy(submit.join("tok.cred"), scratch.join("tok.cred")).unwrap();
    std::fs::copy(files[1], scratch.join("tok")).unwrap();
    for f in ["tok.cred", "tok"] {
        std::fs::set_permissions(scratch.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let job = worker(&env, script("htcondor/tok-job-wrapper"), &scratch)
        .env("_CONDOR_SCRATCH_DIR", &scratch)
        .args(["sh", "-c", PAYLOAD])
        .output()
        .unwrap();
    let job = output("tok-job-wrapper sh -c PAYLOAD", job).code(7);
    let token = std::fs::read_to_string(scratch.join("token.out")).unwrap();
    let claims = jwt_claims(token.trim());
    assert_eq!(claims["scope"], "storage.read:/data", "{job}");
    assert_eq!(claims["aud"], AUD);
    let path = std::fs::read_to_string(scratch.join("path.out")).unwrap();
    assert!(
        Path::new(path.trim()).starts_with(&scratch),
        "the renewed token file is in the private scratch directory: {path}"
    );
    assert!(!Path::new(path.trim()).exists(), "and removed afterwards");
    let mode = std::fs::metadata(scratch.join("tok.cred"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the credential is made private again");
    assert!(!env.socket().exists(), "no agent on the worker");
}

/// The strings of one xRSL line, `"` doubled inside a string meaning one `"`.
fn xrsl_strings(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        loop {
            match chars.next() {
                Some('"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    s.push('"');
                }
                Some('"') | None => break,
                Some(c) => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

#[test]
fn arc_long_job_route_with_the_real_tok_and_no_agent() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let submit = env.path().join("submit");
    std::fs::create_dir(&submit).unwrap();
    let out = env
        .program(script("arc/tok-arc-job"))
        .current_dir(&submit)
        .args([
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--",
            "sh",
            "-c",
            PAYLOAD,
        ])
        .output()
        .unwrap();
    let out = output("tok-arc-job … -- sh -c PAYLOAD", out).ok();
    let line = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("({key}=")))
            .unwrap_or_else(|| panic!("no {key} in the xRSL\n{out}"))
            .to_string()
    };
    assert_eq!(xrsl_strings(&line("executable")), ["tok"]);
    let arguments = xrsl_strings(&line("arguments"));
    assert_eq!(
        arguments.last().unwrap(),
        PAYLOAD,
        "quoting survives\n{out}"
    );
    let inputs = xrsl_strings(&line("inputFiles"));
    assert_eq!(inputs.len(), 4, "{out}");
    env.stop_agent();

    // The CE's side: input files staged into the session directory, executables made so.
    let session = env.path().join("session");
    std::fs::create_dir(&session).unwrap();
    for pair in inputs.chunks(2) {
        std::fs::copy(&pair[1], session.join(&pair[0])).unwrap();
    }
    std::fs::set_permissions(session.join("tok"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let job = worker(&env, session.join("tok"), &session)
        .args(&arguments)
        .output()
        .unwrap();
    let job = output("tok exec --credential … (as the CE runs it)", job).code(7);
    let token = std::fs::read_to_string(session.join("token.out")).unwrap();
    let claims = jwt_claims(token.trim());
    assert_eq!(claims["scope"], "storage.read:/data", "{job}");
    assert_eq!(claims["aud"], AUD);
    let path = std::fs::read_to_string(session.join("path.out")).unwrap();
    assert_eq!(path.trim(), session.join("bt_job").to_str().unwrap());
    assert!(!env.socket().exists(), "no agent on the worker");
}
