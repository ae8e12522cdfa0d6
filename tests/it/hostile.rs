//! tok against a hostile provider and a hostile local process (issue 10): each case here was
//! observed to misbehave before its fix — provider text driving the terminal or forging log
//! lines, unbounded answers and polling, out-of-range lifetimes, unsafe token-file places,
//! connection floods, a bad timeout setting, a CA file that blocks.

use crate::common::{wait_with_timeout, Approval, Out, Provider, ProviderOpts, TestEnv};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const ESC: char = '\u{1b}';

fn fault(provider: &Provider, body: serde_json::Value) {
    provider.post("/test/fault", body);
}

fn agent_rss_kib(env: &TestEnv) -> u64 {
    let pid = env.agent_pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn provider_text_is_shown_not_obeyed() {
    let provider = Provider::start_with(ProviderOpts {
        device_ttl: 3,
        ..Default::default()
    });
    let env = TestEnv::new();
    // Escape sequences in the verification URI and the user code (window title, clear screen).
    provider.post(
        "/test/config",
        serde_json::json!({ "device_override": {
            "verification_uri": format!("{}/device{ESC}]0;pwned\u{7}", provider.issuer),
            "user_code": format!("AB{ESC}[2JCD"),
        }}),
    );
    let out = env.login(
        &provider,
        &["x", "--issuer", &provider.issuer],
        Approval::Ignore,
    );
    assert!(!out.stderr.contains(ESC), "{out}");
    assert!(
        out.stderr.contains("AB\\u{1b}[2JCD"),
        "shown escaped\n{out}"
    );
    // A verification "link" that is not https is never shown.
    provider.post(
        "/test/config",
        serde_json::json!({ "device_override": { "verification_uri": "javascript:alert(1)" } }),
    );
    let out = env.run(&["login", "y", "--issuer", &provider.issuer]);
    assert_ne!(out.code, Some(0), "{out}");
    assert!(!out.stderr.contains("open javascript:"), "{out}");
    provider.post("/test/config", serde_json::json!({ "device_override": {} }));

    // An error description with an OSC 52 clipboard write and a forged log line.
    let env = TestEnv::new();
    let provider = Provider::start();
    env.login_cms(&provider);
    fault(
        &provider,
        serde_json::json!({ "mode": "error", "status": 400, "body": {
            "error": "invalid_scope",
            "error_description": format!("nope{ESC}]52;c;ZXZpbA==\u{7}\nFAKE agent line"),
        }}),
    );
    let out = env.run(&["get", "-s", "storage.read:/x"]).code(5);
    assert!(!out.stderr.contains(ESC), "{out}");
    assert!(
        !env.agent_log().lines().any(|l| l.starts_with("FAKE")),
        "{}",
        env.agent_log()
    );
    // An access token that is not an RFC 6750 token never reaches stdout.
    fault(
        &provider,
        serde_json::json!({ "mode": "error", "status": 200, "body": {
            "access_token": format!("abc{ESC}[2J"), "token_type": "Bearer", "expires_in": 60,
        }}),
    );
    let out = env.run(&["get", "-s", "storage.read:/y"]).code(4);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("RFC 6750"), "{out}");
}

/// Issue 21: a device answer whose link is not https (or http on loopback) fails the login
/// with a clear message, never shows the link, and leaves no account behind.
#[test]
fn device_links_that_are_not_https_are_refused_and_nothing_is_stored() {
    let provider = Provider::start();
    let env = TestEnv::new();
    let good = format!("{}/device", provider.issuer);
    let cases = [
        (
            "verification_uri",
            "javascript:alert(1)".to_string(),
            "scheme `javascript`",
        ),
        (
            "verification_uri",
            "data:text/html,<script>x</script>".into(),
            "scheme `data`",
        ),
        (
            "verification_uri",
            "file:///etc/passwd".into(),
            "scheme `file`",
        ),
        (
            "verification_uri",
            "http://login.example.org/device".into(),
            "plain http",
        ),
        (
            "verification_uri_complete",
            "javascript:alert(1)".into(),
            "scheme `javascript`",
        ),
    ];
    for (i, (field, hostile, why)) in cases.iter().enumerate() {
        let mut answer = serde_json::json!({ "verification_uri": good });
        answer[*field] = serde_json::json!(hostile);
        provider.post(
            "/test/config",
            serde_json::json!({ "device_override": answer }),
        );
        let name = format!("h{i}");
        let out = env
            .run(&["login", &name, "--issuer", &provider.issuer])
            .code(2);
        assert!(
            out.stderr.contains(&format!("{field} tok will not show")),
            "{out}"
        );
        assert!(out.stderr.contains(why), "{out}");
        assert!(out.stderr.contains("nothing was stored"), "{out}");
        assert!(
            !out.stderr.contains(hostile.as_str()),
            "the link is shown\n{out}"
        );
        assert!(!out.stderr.contains("open "), "{out}");
    }
    provider.post("/test/config", serde_json::json!({ "device_override": {} }));
    let status = env.run(&["status", "--json"]).ok().json();
    assert_eq!(status["accounts"], serde_json::json!([]), "{status}");
    let config = std::fs::read_to_string(env.path().join("config/tok/config.toml"));
    assert!(!config.unwrap_or_default().contains("[accounts."));
}

#[test]
fn a_huge_answer_is_cut_off_without_swelling_the_agent() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    fault(
        &provider,
        serde_json::json!({ "mode": "huge", "bytes": 400u64 * 1024 * 1024 }),
    );
    let started = Instant::now();
    let out = env.run(&["get", "-s", "storage.read:/huge"]).code(4);
    assert!(out.stderr.contains("larger than"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let rss = agent_rss_kib(&env);
    assert!(
        rss < 100 * 1024,
        "agent RSS {rss} KiB after a 400 MB answer"
    );
}

#[test]
fn device_polling_is_held_to_sane_intervals() {
    let provider = Provider::start_with(ProviderOpts {
        device_ttl: 4,
        ..Default::default()
    });
    let env = TestEnv::new();
    // interval 0 would poll many times a second.
    provider.post(
        "/test/config",
        serde_json::json!({ "device_override": { "interval": 0 } }),
    );
    env.login(
        &provider,
        &["x", "--issuer", &provider.issuer],
        Approval::Ignore,
    );
    let polls = provider.stats()["by_grant"]["urn:ietf:params:oauth:grant-type:device_code"]
        .as_u64()
        .unwrap_or(0);
    assert!(polls <= 6, "{polls} polls in 4 s");
    // A huge interval must not keep the login waiting past the code's life.
    provider.post(
        "/test/config",
        serde_json::json!({ "device_override": { "interval": 100000 } }),
    );
    let started = Instant::now();
    let out = env.login(
        &provider,
        &["y", "--issuer", &provider.issuer],
        Approval::Ignore,
    );
    assert_eq!(out.code, Some(5), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "took {:?}\n{out}",
        started.elapsed()
    );
}

#[test]
fn lifetimes_out_of_range_do_not_break_the_cache_or_the_output() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let good = env.token(&["-s", "storage.read:/real"]);
    for expires_in in [
        serde_json::json!(1_000_000_000_000u64),
        serde_json::json!(u64::MAX),
        serde_json::json!(-5),
        serde_json::json!("soon"),
    ] {
        fault(
            &provider,
            serde_json::json!({ "mode": "error", "status": 200, "once": true, "body": {
                "access_token": good, "token_type": "Bearer", "expires_in": expires_in,
            }}),
        );
        let scope = format!("storage.read:/e{}", expires_in.to_string().len());
        let out = env.run(&["get", "-s", &scope, "-f", "json"]).ok();
        let expires_at = out.json()["expires_at"].as_u64().unwrap();
        assert!(expires_at > crate::common::unix_now(), "{out}");
        env.run(&["status"]).ok();
        // Served from the cache: no second refresh, no refresh loop.
        let before = provider.refreshes();
        env.run(&["get", "-s", &scope]).ok();
        assert_eq!(provider.refreshes(), before, "{expires_in}");
    }
}

#[test]
fn token_files_are_refused_where_another_user_could_replace_them() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    // A sticky, world-writable directory owned by someone else (not root).
    let shared = env.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::chown(&shared, Some(65534), Some(65534)).unwrap();
    let target = shared.join("token");
    let out = env
        .run(&["env", "--file", target.to_str().unwrap()])
        .code(1);
    assert!(out.stderr.contains("belongs to uid 65534"), "{out}");
    assert!(!target.exists());
    // A path that cannot be exported is refused before anything is written.
    let odd = env.path().join("a\nb");
    let out = env.run(&["env", "--file", odd.to_str().unwrap()]).code(2);
    assert!(!odd.exists(), "{out}");
}

#[test]
fn floods_of_idle_connections_and_big_frames_do_not_stop_the_agent() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    env.stop_agent();
    // Start the agent with a low soft limit on open files, as many systems do.
    let out = env
        .program("sh")
        .args(["-c", "ulimit -Sn 1024 && exec tok agent start"])
        .env("TOK_STORE", "memory")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env.agent_log().contains("was=1024"), "{}", env.agent_log());
    env.login_cms(&provider);
    let mut idle = vec![];
    for _ in 0..1100 {
        idle.push(std::os::unix::net::UnixStream::connect(env.socket()).unwrap());
    }
    // 100 clients announcing 4 MiB − 1 requests: refused at the header.
    let mut big = vec![];
    for _ in 0..100 {
        let mut s = std::os::unix::net::UnixStream::connect(env.socket()).unwrap();
        let _ = s.write_all(&((4u32 << 20) - 1).to_be_bytes());
        let _ = s.write_all(&vec![b' '; 256 * 1024]);
        big.push(s);
    }
    let started = Instant::now();
    let answered = loop {
        let out = env.run(&["get", "-s", "storage.read:/flood"]);
        if out.code == Some(0) {
            break true;
        }
        if started.elapsed() > Duration::from_secs(20) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        answered,
        "the agent answered within 20 s\n{}",
        env.agent_log()
    );
    assert!(agent_rss_kib(&env) < 100 * 1024);
    drop(idle);
    drop(big);
}

#[test]
fn bad_settings_and_blocking_ca_files_fail_one_request_not_the_agent() {
    let provider = Provider::start();
    let mut env = TestEnv::new();
    for bad in ["-1", "nan", "1e30"] {
        env.set_env("TOK_HTTP_TIMEOUT", bad);
        env.stop_agent();
        env.login_cms(&provider);
        env.token(&["-s", "storage.read:/t"]);
    }
    env.set_env("TOK_HTTP_TIMEOUT", "3");
    // The account's CA file becomes a FIFO: that account's refresh fails at once, cached
    // tokens keep being served.
    let fifo = env.path().join("ca.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let cached = env.token(&["-s", "storage.read:/t"]);
    let config = env.path().join("config/tok/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "[accounts.cms]\n",
            &format!("[accounts.cms]\nca_file = \"{}\"\n", fifo.display()),
        ),
    )
    .unwrap();
    let child = env
        .command(&["get", "-s", "storage.read:/fifo"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(env.token(&["-s", "storage.read:/t"]), cached);
    let out = wait_with_timeout(child, Duration::from_secs(20));
    let out = Out {
        what: "tok get (CA file is a FIFO)".into(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("not a regular file"), "{out}");
}
