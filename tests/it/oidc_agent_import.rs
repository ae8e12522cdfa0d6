//! Issue 19: `tok import --from oidc-agent` reads account files written by the real `oidc-gen`
//! (Debian oidc-agent-cli 4.2.6, run non-interactively against the test provider with a refresh
//! token from a device flow), and refuses wrong passwords, GPG and unknown files without
//! writing anything.

use super::oidc_agent_token::{have_oidc_agent_cli, oidc};
use crate::common::{jwt_claims, provider::test_ca, Out, Provider, TestEnv};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const PASSWORD: &str = "oidc-agent-pw";
const SCOPE: &str = "openid offline_access storage.read:/ compute.create";

/// A refresh token for the provider's confidential client, from a device flow approved in the
/// provider's own pages (oidc-gen has no non-interactive device flow).
fn refresh_token(provider: &Provider) -> String {
    let http = reqwest::blocking::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(test_ca().ca_pem_path()).unwrap())
                .unwrap(),
        )
        .build()
        .unwrap();
    let post = |path: &str, form: &[(&str, &str)]| -> serde_json::Value {
        http.post(format!("{}{path}", provider.issuer))
            .basic_auth("tok-confidential", Some("s3cret-client"))
            .form(form)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let device = post("/device/auth", &[("scope", SCOPE)]);
    provider.approve(device["user_code"].as_str().unwrap(), false);
    let tokens = post(
        "/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device["device_code"].as_str().unwrap()),
        ],
    );
    tokens["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token: {tokens}"))
        .to_string()
}

/// Writes account `name` with the real `oidc-gen` (which needs a running oidc-agent, started
/// here and stopped again) into `$HOME/.config/oidc-agent`, and returns the file.
pub fn oidc_gen(env: &TestEnv, provider: &Provider, name: &str) -> PathBuf {
    let dir = env.path().join("home/.config/oidc-agent");
    std::fs::create_dir_all(&dir).unwrap();
    let sock = env.path().join("oidc-agent-real.sock");
    let real = |program: &str| {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", env.path().join("home"))
            .env("TMPDIR", env.path())
            .env("OIDC_CONFIG_DIR", &dir)
            .env("OIDC_SOCK", &sock)
            .stdin(Stdio::null());
        cmd
    };
    let started = real("oidc-agent")
        .args(["--json", "-a"])
        .arg(&sock)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&started.stdout).unwrap();
    // oidc-agent writes its pid as a string.
    let pid: i32 = info["dpid"].as_str().unwrap().parse().unwrap();
    let out = real("oidc-gen")
        .args([
            name,
            "--issuer",
            &provider.issuer,
            "--client-id",
            "tok-confidential",
        ])
        .args([
            "--client-secret",
            "s3cret-client",
            "--rt-env",
            "--scope",
            SCOPE,
        ])
        .args(["--pw-cmd", &format!("echo {PASSWORD}"), "--confirm-default"])
        .args(["--prompt", "none", "--cp"])
        .arg(test_ca().ca_pem_path())
        .env("OIDC_REFRESH_TOKEN", refresh_token(provider))
        .output()
        .unwrap();
    // SAFETY: kill(2) on the oidc-agent this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let file = dir.join(name);
    assert!(
        out.status.success() && file.exists(),
        "oidc-gen failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

fn import(env: &TestEnv, args: &[&str]) -> Out {
    let pw = env.path().join("oidc-pw");
    let pw = if pw.exists() {
        pw
    } else {
        env.passphrase_file("oidc-pw", PASSWORD)
    };
    let mut all = vec!["import", "--from", "oidc-agent", "--password-file"];
    all.push(pw.to_str().unwrap());
    all.extend_from_slice(args);
    env.run(&all)
}

#[test]
fn an_account_written_by_oidc_gen_is_imported_and_gets_tokens() {
    if !have_oidc_agent_cli() {
        return;
    }
    let provider = Provider::start();
    let env = TestEnv::new();
    let file = oidc_gen(&env, &provider, "wlcg");
    if std::env::var_os("TOK_WRITE_OIDC_AGENT_FIXTURE").is_some() {
        // How tests/oidc_agent/fixtures/wlcg-4.2.6 was made (with PASSWORD).
        std::fs::copy(
            &file,
            crate::common::repo().join("tests/oidc_agent/fixtures/wlcg-4.2.6"),
        )
        .unwrap();
    }
    let out = import(&env, &[]).ok();
    assert!(out.stderr.contains("imported `wlcg`"), "{out}");
    assert!(out.stderr.contains("rotates refresh tokens"), "{out}");
    let token = env.token(&["wlcg"]);
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], provider.issuer.as_str());
    let scoped = env.token(&["wlcg", "-s", "storage.read:/"]);
    assert_eq!(jwt_claims(&scoped)["scope"], "storage.read:/");
    // And through the compatibility socket, as scripts ask.
    let out = oidc(&env, "oidc-token", &["wlcg"]).ok();
    assert_eq!(out.stdout.trim(), token);
    // Importing again is refused: the account exists.
    let out = import(&env, &["wlcg"]).code(2);
    assert!(
        out.stderr.contains("already has an account `wlcg`"),
        "{out}"
    );
    // --retire renames the file so oidc-agent stops using the refresh token.
    let env2 = TestEnv::new();
    let dir2 = env2.path().join("home/.config/oidc-agent");
    std::fs::create_dir_all(&dir2).unwrap();
    std::fs::copy(&file, dir2.join("wlcg")).unwrap();
    import(&env2, &["--retire", "wlcg"]).ok();
    assert!(!dir2.join("wlcg").exists());
    assert!(dir2.join("wlcg.imported-by-tok").exists());
}

#[test]
fn unreadable_files_are_refused_and_nothing_is_written() {
    if !have_oidc_agent_cli() {
        return;
    }
    let provider = Provider::start();
    let env = TestEnv::new();
    let file = oidc_gen(&env, &provider, "good");
    let dir = file.parent().unwrap().to_path_buf();
    let config = env.path().join("config/tok/config.toml");
    let before = std::fs::read_to_string(&config).unwrap_or_default();
    // A wrong password.
    let pw = env.passphrase_file("wrong-pw", "not-the-password");
    let out = env
        .run(&[
            "import",
            "--from",
            "oidc-agent",
            "--password-file",
            pw.to_str().unwrap(),
        ])
        .code(2);
    assert!(out.stderr.contains("the password is wrong"), "{out}");
    assert!(out.stderr.contains(&file.display().to_string()), "{out}");
    // A GPG-encrypted file next to a good one: nothing is imported, not even the good one.
    std::fs::write(
        dir.join("gpg"),
        "-----BEGIN PGP MESSAGE-----\n\nhQEMAxxx\n-----END PGP MESSAGE-----\n",
    )
    .unwrap();
    let out = import(&env, &["good", "gpg"]).code(2);
    assert!(out.stderr.contains("encrypted with GPG"), "{out}");
    assert!(out.stderr.contains("nothing was imported"), "{out}");
    // A file of another format, named explicitly.
    std::fs::write(dir.join("notes"), "just some text\nand more\n").unwrap();
    let out = import(&env, &["notes"]).code(2);
    assert!(
        out.stderr.contains("not an oidc-agent account file"),
        "{out}"
    );
    // A damaged file (a flipped ciphertext byte).
    let mut lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let flip = if lines[4].starts_with('A') { "B" } else { "A" };
    lines[4].replace_range(0..1, flip);
    std::fs::write(dir.join("damaged"), lines.join("\n")).unwrap();
    let out = import(&env, &["damaged"]).code(2);
    assert!(out.stderr.contains("damaged"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap_or_default(),
        before,
        "no account was written"
    );
    // Without names, a file of another format is skipped and the good one imported.
    std::fs::remove_file(dir.join("gpg")).unwrap();
    std::fs::remove_file(dir.join("damaged")).unwrap();
    let out = import(&env, &[]).ok();
    assert!(out.stderr.contains("skipped"), "{out}");
    assert!(out.stderr.contains("imported `good`"), "{out}");
}
