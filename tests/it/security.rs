//! Secrets stay secret: not in logs (even at trace level), not in files other than the store.

use crate::common::{Provider, ProviderOpts, TestEnv};

#[test]
fn trace_logs_and_files_hold_no_token_bytes() {
    let provider = Provider::start_with(ProviderOpts {
        rotate: true,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    env.set_env("TOK_LOG", "trace");
    env.login_cms(&provider);
    let mut tokens = vec![];
    for scope in ["storage.read:/a", "storage.read:/b", "compute.create"] {
        tokens.push(env.token(&["--scope", scope, "--aud", "https://se.example.org"]));
    }
    tokens.push(env.token(&[]));
    env.run(&["status"]).ok();
    let refresh: Vec<String> = provider
        .live_refresh_tokens()
        .iter()
        .filter_map(|r| r["value"].as_str().map(str::to_string))
        .collect();
    assert!(!refresh.is_empty());
    env.run(&["logout", "cms"]).ok();
    env.stop_agent();
    let log = env.agent_log();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logging is on\n{log}"
    );
    let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    secrets.extend(refresh.iter().map(String::as_str));
    for secret in &secrets {
        // A 20-byte window from inside each token of a token must not appear.
        let start = secret.len() / 4;
        let probe = &secret[start..start + 20.min(secret.len() / 2)];
        assert!(!log.contains(probe), "a token leaked into the agent log");
        for entry in walk(env.path()) {
            if let Ok(text) = std::fs::read(&entry) {
                assert!(
                    !String::from_utf8_lossy(&text).contains(probe),
                    "a token leaked into {}",
                    entry.display()
                );
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
