//! The two commands a user reaches for when something is off: `tok inspect` (what does this
//! token say, and is it a proper WLCG token?) and `tok doctor` (which piece of the setup is
//! broken?), run as a user would, against the real test provider.

use crate::common::{Out, Provider, TestEnv};
use std::io::Write;
use std::process::Stdio;

/// `tok ARGS` with `input` on stdin.
fn run_with_stdin(env: &TestEnv, args: &[&str], input: &str) -> Out {
    let mut child = env
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tok");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Out {
        what: format!("tok {} < input", args.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sh -c SCRIPT` in the test's sealed environment, `tok` on PATH.
fn shell(env: &TestEnv, script: &str) -> Out {
    let out = env.program("sh").args(["-c", script]).output().unwrap();
    Out {
        what: format!("sh -c '{script}'"),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A JWT with `claims` and a made-up signature (inspect never checks it).
fn jwt(claims: serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.bm90LWEtcmVhbC1zaWduYXR1cmU",
        b64(serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": "k1"})),
        b64(claims)
    )
}

fn write_config(env: &TestEnv, text: &str) {
    let dir = env.path().join("config/tok");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

fn config_for(issuer: &str) -> String {
    format!(
        "default_account = \"cms\"\n\n[accounts.cms]\nissuer = \"{issuer}\"\nclient_id = \"tok-test\"\nscopes = [\"openid\", \"offline_access\"]\n"
    )
}

#[test]
fn a_token_from_tok_get_piped_into_inspect() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let out = shell(&env, "tok get -s storage.read:/x | tok inspect").ok();
    let s = &out.stdout;
    assert!(s.contains("NOT verified"), "{out}");
    assert!(
        s.contains(&format!("issuer:    {}", provider.issuer)),
        "{out}"
    );
    assert!(s.contains("scopes:    storage.read:/x"), "{out}");
    assert!(s.contains("wlcg.ver:  1.0"), "{out}");
    assert!(
        s.contains("audience:  https://wlcg.cern.ch/jwt/v1/any"),
        "{out}"
    );
    let expires = s
        .lines()
        .find(|l| l.contains("expires:"))
        .unwrap_or_default();
    assert!(
        expires.ends_with("(in 59m)") || expires.ends_with("(in 1h)"),
        "{out}"
    );
    assert!(s.contains("WLCG profile: no findings"), "{out}");
    // The same (cached) token: inspect shows its claims, never the token.
    let token = env.token(&["-s", "storage.read:/x"]);
    assert!(!s.contains(&token), "the token was printed\n{out}");
    let jti = crate::common::jwt_claims(&token)["jti"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains(&format!("jti:       {jti}")), "{out}");

    let out = shell(&env, "tok get -s storage.read:/x | tok inspect --json").ok();
    let json = out.json();
    assert_eq!(json["verified"], false, "{out}");
    assert_eq!(json["format"], "jwt");
    assert_eq!(json["claims"]["scope"], "storage.read:/x");
    assert_eq!(json["claims"]["wlcg.ver"], "1.0");
    assert_eq!(json["lint"], serde_json::json!([]));
    assert!(!out.stdout.contains(&token));

    // Every format of `tok get` can be piped in.
    for format in ["header", "json", "env"] {
        let out = shell(
            &env,
            &format!("tok get -s storage.read:/x -f {format} | tok inspect"),
        )
        .ok();
        assert!(out.stdout.contains("storage.read:/x"), "{out}");
    }
}

#[test]
fn get_inspect_reports_on_stderr_and_keeps_stdout_the_bare_token() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let out = env
        .run(&[
            "get",
            "-s",
            "storage.read:/x",
            "--aud",
            "https://se.example.org",
            "--inspect",
        ])
        .ok();
    let token = out.stdout.trim_end_matches('\n');
    assert_eq!(out.stdout.lines().count(), 1, "{out}");
    assert!(!token.contains(' '), "{out}");
    assert_eq!(crate::common::jwt_claims(token)["scope"], "storage.read:/x");
    assert!(out.stderr.contains("NOT verified"), "{out}");
    assert!(out.stderr.contains("scopes:    storage.read:/x"), "{out}");
    assert!(
        out.stderr.contains("audience:  https://se.example.org"),
        "{out}"
    );
    assert!(
        !out.stderr.contains(token),
        "the token went to stderr\n{out}"
    );
}

#[test]
fn lints_fire_on_a_hand_made_token() {
    let env = TestEnv::new();
    let now = crate::common::unix_now();
    let token = jwt(serde_json::json!({
        "iss": "https://iam.example.org",
        "sub": "someone",
        "aud": "https://se.example.org/",
        "iat": now,
        "exp": now + 10 * 3600,
        "jti": "hand-made-1",
        "scope": "storage.read compute.create storage.write:/x",
        "email": "someone@example.org",
        "preferred_username": "someone",
    }));
    // The token as an argument.
    let out = env.run(&["inspect", &token]).ok();
    let s = &out.stdout;
    assert!(s.contains("WLCG profile: 3 errors, 3 warnings"), "{out}");
    assert!(s.contains("error   wlcg.ver: no `wlcg.ver` claim"), "{out}");
    assert!(
        s.contains("error   scope: `storage.read` has no path"),
        "{out}"
    );
    assert!(
        s.contains("error   scope: `storage.write:/x` is not a WLCG storage scope"),
        "{out}"
    );
    assert!(
        s.contains("warning audience: audience `https://se.example.org/` ends in a slash"),
        "{out}"
    );
    assert!(s.contains("warning lifetime: the token lives 10h"), "{out}");
    assert!(
        s.contains(
            "warning personal-data: personal data in an access token (email, preferred_username)"
        ),
        "{out}"
    );
    assert!(s.contains("lifetime:  10h"), "{out}");
    assert!(!s.contains(&token), "{out}");

    // `-` reads stdin; --json carries every finding.
    let out = run_with_stdin(&env, &["inspect", "--json", "-"], &format!("{token}\n")).ok();
    let json = out.json();
    let checks: Vec<(String, String)> = json["lint"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["check"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("error", "wlcg.ver"),
        ("error", "scope"),
        ("warning", "audience"),
        ("warning", "lifetime"),
        ("warning", "personal-data"),
    ] {
        assert!(
            checks.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} missing\n{out}"
        );
    }
    assert_eq!(json["errors"], 3, "{out}");
    assert_eq!(json["claims"]["email"], "someone@example.org");
}

#[test]
fn opaque_and_malformed_tokens() {
    let env = TestEnv::new();
    let out = run_with_stdin(&env, &["inspect"], "2YotnFZFEjr1zCsicMWpAA\n").ok();
    assert!(
        out.stdout.starts_with("opaque token, nothing to decode"),
        "{out}"
    );
    let out = env
        .run(&["inspect", "--json", "2YotnFZFEjr1zCsicMWpAA"])
        .ok();
    assert_eq!(out.json()["format"], "opaque");

    for garbage in [
        "this is not a token\n",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0\n",
        "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln\n",
        "",
    ] {
        let out = run_with_stdin(&env, &["inspect"], garbage).code(2);
        assert!(out.stderr.contains("cannot inspect the token"), "{out}");
        assert!(out.stdout.is_empty(), "{out}");
        let secret = garbage.trim();
        if secret.len() > 8 {
            assert!(!out.stderr.contains(secret), "the input was echoed\n{out}");
        }
    }
}

#[test]
fn doctor_is_healthy_with_an_agent_and_a_login() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let out = env.run(&["doctor"]).ok();
    let s = &out.stdout;
    let run_dir = env.path().join("run/tok");
    assert!(
        s.contains(&format!(
            "ok    runtime directory: {} is yours and private (mode 700)",
            run_dir.display()
        )),
        "{out}"
    );
    assert!(
        s.contains(&format!("tok {}, protocol", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(s.contains("ok    agent: pid "), "{out}");
    assert!(s.contains("ok    store: memory"), "{out}");
    assert!(s.contains("ok    config: "), "{out}");
    assert!(s.contains("ok    cms login: logged in"), "{out}");
    assert!(
        s.contains("ok    cms tls: ") && s.contains("certificate verified"),
        "{out}"
    );
    assert!(
        s.contains("ok    cms discovery: ") && s.contains("device flow"),
        "{out}"
    );
    assert!(s.contains("ok    cms clock: within "), "{out}");
    assert!(s.lines().last().unwrap().starts_with("healthy"), "{out}");
    assert!(!s.contains("FAIL"), "{out}");
}

#[test]
fn doctor_without_an_agent_reports_it_and_starts_none() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    write_config(&env, &config_for(&provider.issuer));
    let out = env.run(&["doctor"]).ok();
    assert!(
        out.stdout
            .contains("warn  agent: not running (no socket at"),
        "{out}"
    );
    assert!(out.stdout.contains("commands start it on demand"), "{out}");
    assert!(
        out.stdout.contains("skip  store: no agent answered"),
        "{out}"
    );
    assert!(
        out.stdout.contains("skip  cms login: no agent answered"),
        "{out}"
    );
    assert!(out.stdout.contains("ok    cms discovery"), "{out}");
    assert!(!env.socket().exists(), "doctor started an agent\n{out}");

    // Where nothing starts an agent on demand, no agent is a failure.
    env.set_env("TOK_NO_AUTOSTART", "1");
    let out = env.run(&["doctor"]).code(1);
    assert!(
        out.stdout.contains("FAIL  agent: not running")
            && out.stdout.contains("TOK_NO_AUTOSTART is set")
            && out.stdout.contains("fix: `tok agent start`"),
        "{out}"
    );
    assert!(out.stdout.contains("unhealthy: 1 check failed"), "{out}");
    assert!(!env.socket().exists());
}

#[test]
fn doctor_names_an_open_socket_directory_and_the_chmod() {
    let env = TestEnv::new();
    let dir = env.path().join("run/tok");
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env.run(&["doctor"]).code(1);
    assert!(
        out.stdout.contains(&format!(
            "FAIL  runtime directory: {} has mode 755, open to group or others",
            dir.display()
        )),
        "{out}"
    );
    assert!(
        out.stdout
            .contains(&format!("fix: chmod 700 {}", dir.display())),
        "{out}"
    );
    // No account yet: said, with the command that adds one.
    assert!(out.stdout.contains("warn  config: no accounts"), "{out}");
    assert!(out.stdout.contains("tok login NAME --issuer URL"), "{out}");
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755, "doctor only looks");
}

#[test]
fn doctor_reports_a_provider_that_is_down() {
    let mut provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    provider.stop();
    let out = env.run(&["doctor"]).code(1);
    let s = &out.stdout;
    assert!(s.contains("ok    agent: pid "), "{out}");
    assert!(
        s.contains("FAIL  cms discovery: discovery at ") && s.contains("could not connect"),
        "{out}"
    );
    assert!(s.contains("whether the provider is up"), "{out}");
    assert!(
        s.contains("skip  cms tls: the provider was not reached"),
        "{out}"
    );
    assert!(s.contains("skip  cms clock"), "{out}");
}

#[test]
fn doctor_gives_the_tls_hint_when_the_provider_is_not_trusted() {
    let provider = Provider::start();
    let env = TestEnv::new();
    write_config(&env, &config_for(&provider.issuer));
    // The test CA is trusted only through SSL_CERT_FILE; without it the system store decides.
    let out = env
        .command(&["doctor"])
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap();
    let out = Out {
        what: "tok doctor (no SSL_CERT_FILE)".into(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
    .code(1);
    let s = &out.stdout;
    assert!(
        s.contains("FAIL  cms tls: ") && s.contains("TLS certificate could not be verified"),
        "{out}"
    );
    assert!(s.contains("the system's CA store"), "{out}");
    assert!(s.contains("--ca-file"), "{out}");
    assert!(s.contains("skip  cms discovery: TLS failed"), "{out}");

    // The account's own CA file is enough.
    let ca = env.ca_file().display().to_string();
    write_config(
        &env,
        &format!("{}ca_file = \"{ca}\"\n", config_for(&provider.issuer)),
    );
    let out = env
        .command(&["doctor"])
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ok    cms tls: ") && stdout.contains(&format!("plus {ca}")),
        "{stdout}"
    );
    assert!(stdout.contains("ok    cms discovery"), "{stdout}");
}
