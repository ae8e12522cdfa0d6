//! Issue 20, the login flows: the browser's authorization-code flow with PKCE and its refusals
//! (this file), how `auto` chooses and the administrators' clients (`choice.rs`), a refresh token
//! given by file or stdin (`refresh.rs`), and the code flow at django-oauth-toolkit (`dot.rs`).
//! The browser is `tests/provider/approve.js --browse`, started by `tok login` through
//! $BROWSER; it logs each step as a JSON line, since tok hides a browser's output.

mod choice;
mod dot;
mod refresh;

use crate::common::{unix_now, wait_with_timeout, Out, Provider, TestEnv};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Makes `env` a desktop session whose browser is approve.js in `mode`; returns its log.
pub fn use_browser(env: &mut TestEnv, mode: &str) -> PathBuf {
    let log = env
        .path()
        .join(format!("browser-{mode}-{}.log", unix_now()));
    let script = crate::common::repo().join("tests/provider/approve.js");
    env.set_env("DISPLAY", ":99");
    env.set_env(
        "BROWSER",
        format!(
            "node {} --browse --mode {mode} --log {}",
            script.display(),
            log.display()
        ),
    );
    env.set_env(
        "NODE_EXTRA_CA_CERTS",
        crate::common::provider::test_ca()
            .ca_pem_path()
            .display()
            .to_string(),
    );
    log
}

/// `tok login ARGS`, given at most 60 s.
pub fn login(env: &TestEnv, args: &[&str]) -> Out {
    let child = env.spawn_login(args);
    let out = wait_with_timeout(child, Duration::from_secs(60));
    Out {
        what: format!("tok login {}", args.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The browser's steps so far (waiting up to 10 s for `last` to show up).
pub fn steps(log: &PathBuf, last: &str) -> Vec<Value> {
    let read = || -> Vec<Value> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    for _ in 0..200 {
        if read().iter().any(|s| s["step"] == last) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    read()
}

pub fn step<'a>(steps: &'a [Value], name: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {steps:#?}"))
}

/// No account and nothing the agent could serve.
#[track_caller]
pub fn nothing_stored(env: &TestEnv, provider: &Provider) {
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["accounts"], serde_json::json!([]), "{status:#}");
    let refresh_tokens = provider.live_refresh_tokens();
    assert!(refresh_tokens.is_empty(), "{refresh_tokens:#?}");
}

fn config(env: &TestEnv) -> String {
    std::fs::read_to_string(env.path().join("config/tok/config.toml")).unwrap_or_default()
}

#[test]
fn a_browser_login_end_to_end() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let log = use_browser(&mut env, "favicon");
    let out = login(&env, &["op", "--issuer", &provider.issuer]).ok();
    assert!(
        out.stderr.contains(
            "tok login: using the browser (code flow): a desktop session is present (DISPLAY is set)"
        ),
        "{out}"
    );
    assert!(out.stderr.contains("logged in as account `op`"), "{out}");
    let steps = steps(&log, "done");
    assert_eq!(
        step(&steps, "favicon")["status"],
        404,
        "a favicon does not end the login"
    );
    let page = step(&steps, "callback");
    assert_eq!(page["status"], 200);
    assert!(
        page["page"]
            .as_str()
            .unwrap()
            .contains("You can close this tab"),
        "{page}"
    );
    // The code was redeemed with PKCE: the provider holds one refresh token, for tok's client.
    assert_eq!(provider.live_refresh_tokens().len(), 1);
    assert!(
        config(&env).contains("login_flow = \"code\""),
        "{}",
        config(&env)
    );
    assert!(
        config(&env).contains("authorization_code"),
        "the registered client's grants"
    );
    let token = env.token(&["op"]);
    assert_eq!(crate::common::jwt_claims(&token)["sub"], "alice");

    // A new login of the account reuses the flow it used, and says so.
    let out = login(&env, &["op"]).ok();
    assert!(out.stderr.contains("logged in this way last time"), "{out}");
}

#[test]
fn a_forged_state_gets_an_error_page_and_leaves_the_login_waiting() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let log = use_browser(&mut env, "wrong-state");
    let out = login(&env, &["op", "--issuer", &provider.issuer]).ok();
    let steps = steps(&log, "done");
    let forged = step(&steps, "forged");
    assert_eq!(forged["status"], 400);
    assert!(
        forged["page"]
            .as_str()
            .unwrap()
            .contains("nothing was stored"),
        "{forged}"
    );
    assert_eq!(step(&steps, "callback")["status"], 200, "{out}");
    assert!(env
        .agent_log()
        .contains("login callback refused: its state is not this login's"));
}

#[test]
fn a_request_from_a_web_page_is_refused() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let log = use_browser(&mut env, "origin");
    login(&env, &["op", "--issuer", &provider.issuer]).ok();
    let steps = steps(&log, "done");
    assert_eq!(step(&steps, "foreign")["status"], 403);
    assert_eq!(step(&steps, "callback")["status"], 200);
}

#[test]
fn a_second_callback_finds_the_listener_closed() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let log = use_browser(&mut env, "twice");
    login(&env, &["op", "--issuer", &provider.issuer]).ok();
    let steps = steps(&log, "done");
    assert_eq!(step(&steps, "callback")["status"], 200);
    assert_eq!(step(&steps, "again")["error"], "ECONNREFUSED", "{steps:#?}");
}

#[test]
fn access_denied_ends_the_login_clearly_with_nothing_stored() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    let log = use_browser(&mut env, "deny");
    let out = login(&env, &["op", "--issuer", &provider.issuer]).code(5);
    assert!(
        out.stderr
            .contains("denied at the provider (access_denied)"),
        "{out}"
    );
    assert!(out.stderr.contains("nothing was stored"), "{out}");
    let steps = steps(&log, "done");
    let page = step(&steps, "callback")["page"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(page.contains("<code>access_denied</code>"), "{page}");
    nothing_stored(&env, &provider);
}

/// RFC 9207: an answer naming another issuer (a mix-up) is taken and thrown away.
#[test]
fn an_answer_from_another_issuer_is_not_used() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    use_browser(&mut env, "wrong-iss");
    let out = login(&env, &["op", "--issuer", &provider.issuer]).code(5);
    assert!(out.stderr.contains("names another issuer"), "{out}");
    assert!(out.stderr.contains("nothing was stored"), "{out}");
    nothing_stored(&env, &provider);
}

#[test]
fn a_closed_browser_times_out_with_nothing_stored() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.set_env("TOK_LOGIN_TIMEOUT", "3");
    use_browser(&mut env, "close");
    let out = login(&env, &["op", "--issuer", &provider.issuer]).code(5);
    assert!(out.stderr.contains("did not come back within 3s"), "{out}");
    assert!(out.stderr.contains("run `tok login op` again"), "{out}");
    nothing_stored(&env, &provider);
}

/// PKCE at work: a code redeemed without the verifier (as by someone who intercepted the
/// redirect) is refused by the provider, and tok, never answered, stores nothing.
#[test]
fn a_code_without_its_verifier_is_worthless() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.set_env("TOK_LOGIN_TIMEOUT", "4");
    let log = use_browser(&mut env, "steal");
    let out = login(&env, &["op", "--issuer", &provider.issuer]).code(5);
    let steps = steps(&log, "stolen");
    let stolen = step(&steps, "stolen");
    assert_eq!(stolen["status"], 400, "{stolen}");
    assert_eq!(stolen["error"], "invalid_grant", "{stolen}");
    assert_eq!(stolen["got_token"], false);
    assert!(out.stderr.contains("did not come back"), "{out}");
    nothing_stored(&env, &provider);
}

/// The listener is on 127.0.0.1 alone (never a wildcard address), and Ctrl-C (the client going
/// away) closes it.
#[test]
fn the_listener_is_bound_to_loopback_only_and_closes_on_cancel() {
    use std::io::BufRead;
    let provider = Provider::start();
    let mut env = TestEnv::new();
    env.set_env("DISPLAY", ":99");
    env.set_env("BROWSER", "true");
    let mut child = env.spawn_login(&["op", "--issuer", &provider.issuer, "--flow", "code"]);
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let url = stderr
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("https://"))
        .expect("the sign-in link");
    let url = url::Url::parse(&url).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    let port = url::Url::parse(&redirect).unwrap().port().unwrap();
    let listening: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[3] == "0A" && f[1].ends_with(&format!(":{port:04X}"))
        })
        .collect();
    assert_eq!(listening.len(), 1, "{listening:?}");
    assert!(
        listening[0]
            .split_whitespace()
            .nth(1)
            .unwrap()
            .starts_with("0100007F:"),
        "{listening:?}"
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        crate::common::wait_until(|| std::net::TcpStream::connect(("127.0.0.1", port)).is_err()),
        "the agent stopped listening when the client went away"
    );
    nothing_stored(&env, &provider);
}
