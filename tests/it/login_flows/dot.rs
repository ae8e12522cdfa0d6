//! The browser's code flow with PKCE at a second provider, django-oauth-toolkit: an
//! administrator's code-flow client with the loopback redirect URI, an issuer with a path, and
//! an ID token whose nonce tok checks.

use super::login;
use crate::common::dot::DotProvider;
use crate::common::TestEnv;

#[test]
fn a_browser_login_at_django_oauth_toolkit() {
    let dot = DotProvider::start();
    let mut env = TestEnv::new();
    let log = env.path().join("browser.log");
    let dot_dir = crate::common::repo().join("tests/dot");
    env.set_env("DISPLAY", ":99");
    env.set_env(
        "BROWSER",
        format!(
            "{} {} --browse --log {}",
            dot_dir.join(".venv/bin/python").display(),
            dot_dir.join("approve.py").display(),
            log.display()
        ),
    );
    env.set_env(
        "CA_FILE",
        crate::common::provider::test_ca()
            .ca_pem_path()
            .display()
            .to_string(),
    );
    let out = login(
        &env,
        &[
            "dot",
            "--issuer",
            &dot.issuer,
            "--client-id",
            "tok-dot-code",
            "--scope",
            "storage.read:/",
            // `auto` would show a device code: DOT hands one to any client, and tok cannot
            // know what an administrator's client may do.
            "--flow",
            "code",
        ],
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let out = out.ok();
    assert!(
        out.stderr
            .contains("using the browser (code flow): --flow code was given"),
        "{out}\n{text}"
    );
    assert!(text.contains("You can close this tab"), "{text}");
    let token = env.token(&["dot"]);
    assert_eq!(dot.introspect(&token)["active"], true);
    assert_eq!(
        dot.introspect(&token)["scope"],
        "offline_access openid storage.read:/"
    );
}
