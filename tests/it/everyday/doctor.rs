//! `tok doctor` as a user meets it: healthy, no agent, an open socket directory, a provider
//! that is down or not trusted.

use super::*;

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
