//! Issue 19: hostile input on the oidc-agent compatibility socket. Each bad connection is
//! closed on its own; the agent keeps serving the real `oidc-token`, and its log never holds a
//! token.

use super::oidc_agent_token::{compat_socket, logged_in, oidc};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use tok::compat::crypto::Session;

fn connect(env: &crate::common::TestEnv) -> UnixStream {
    let s = UnixStream::connect(compat_socket(env)).expect("connect to the compat socket");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s
}

/// Everything the agent sends until it closes the connection (a reset, when it closed with
/// bytes of ours unread, is a close too).
fn read_all(s: &mut UnixStream) -> Vec<u8> {
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the agent does not close the connection: {e}"),
    }
    out
}

/// Reads one message (the agent's public key) without waiting for the close.
fn read_key(s: &mut UnixStream) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let mut have = 0;
    while have < tok::compat::crypto::KEY_MESSAGE_CHARS {
        let n = s.read(&mut buf[have..]).unwrap();
        assert!(n > 0, "closed before the key");
        have += n;
    }
    buf.truncate(have);
    buf
}

#[test]
fn a_request_split_across_writes_is_answered() {
    let Some((_provider, env)) = logged_in() else {
        return;
    };
    let (secret, key) = Session::client_key();
    let mut s = connect(&env);
    s.write_all(&key.as_bytes()[..20]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(&key.as_bytes()[20..]).unwrap();
    let session = Session::client_finish(&secret, &read_key(&mut s)).unwrap();
    let sealed = session.seal(br#"{"request":"access_token","account":"cms"}"#);
    let (a, b) = sealed.as_bytes().split_at(sealed.len() / 2);
    s.write_all(a).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(b).unwrap();
    let reply = session.open(&read_all(&mut s)).expect("an encrypted reply");
    let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(reply["status"], "success", "{reply}");
    assert_eq!(reply["access_token"].as_str().unwrap(), env.token(&["cms"]));
}

#[test]
fn garbage_tampering_and_bad_keys_close_only_their_connection() {
    let Some((_provider, env)) = logged_in() else {
        return;
    };
    let token = env.token(&["cms"]);
    // Garbage (not a key, not JSON).
    let mut s = connect(&env);
    s.write_all(&[0xff; 100]).unwrap();
    assert!(read_all(&mut s).is_empty());
    // A key of the wrong length (31 bytes).
    let mut s = connect(&env);
    s.write_all(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .unwrap();
    assert!(read_all(&mut s).is_empty());
    // Tampered ciphertext after a good key exchange.
    let (secret, key) = Session::client_key();
    let mut s = connect(&env);
    s.write_all(key.as_bytes()).unwrap();
    let session = Session::client_finish(&secret, &read_key(&mut s)).unwrap();
    let mut sealed = session
        .seal(br#"{"request":"access_token","account":"cms"}"#)
        .into_bytes();
    let i = sealed.len() - 5;
    sealed[i] = if sealed[i] == b'A' { b'B' } else { b'A' };
    s.write_all(&sealed).unwrap();
    assert!(read_all(&mut s).is_empty(), "no answer to a forged message");
    // A message that never ends: closed at the size cap.
    let mut s = connect(&env);
    let _ = s.write_all(&vec![b'{'; 70 * 1024]);
    assert!(read_all(&mut s).is_empty());
    // Plaintext JSON that is not a request: answered as oidc-agent answers.
    let mut s = connect(&env);
    s.write_all(br#"{"hello":1}"#).unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&read_all(&mut s)).unwrap();
    assert_eq!(reply["error"], "Bad Request: No request type.");
    // The agent still serves, and logged no token.
    let out = oidc(&env, "oidc-token", &["cms"]).ok();
    assert_eq!(out.stdout.trim(), token);
    std::thread::sleep(Duration::from_millis(200));
    let log = env.agent_log();
    assert!(log.contains("closing an oidc-agent connection"), "{log}");
    assert!(!log.contains(&token), "a token in the agent log");
    assert!(
        !log.contains("access_token\""),
        "a request in the agent log"
    );
}

#[test]
fn ten_thousand_connections_do_not_stop_the_agent() {
    let Some((_provider, env)) = logged_in() else {
        return;
    };
    let token = env.token(&["cms"]);
    let pid = env.agent_pid();
    for _batch in 0..20 {
        let held: Vec<UnixStream> = (0..500).map(|_| connect(&env)).collect();
        for (i, mut s) in held.into_iter().enumerate() {
            if i % 2 == 0 {
                let _ = s.write_all(b"not a key at all, and long enough to be judged");
            }
        }
    }
    let out = oidc(&env, "oidc-token", &["cms"]).ok();
    assert_eq!(out.stdout.trim(), token);
    assert_eq!(env.agent_pid(), pid, "the same agent");
}

#[test]
fn a_client_of_another_uid_is_refused() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run a client as another uid (setpriv)");
        return;
    }
    let Some((_provider, env)) = logged_in() else {
        return;
    };
    // Loosen every mode on the way so the connection reaches the agent's own check.
    use std::os::unix::fs::PermissionsExt;
    let sock = compat_socket(&env);
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).unwrap();
    for dir in [sock.parent().unwrap(), &env.path().join("run"), env.path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(["oidc-token", "cms"])
        .env_clear()
        .env("OIDC_SOCK", &sock)
        .output()
        .expect("setpriv");
    assert!(!out.status.success(), "another uid must be refused");
    assert!(out.stdout.is_empty());
    std::thread::sleep(Duration::from_millis(200));
    let log = env.agent_log();
    assert!(
        log.contains("refused a connection from another user"),
        "{log}"
    );
    assert!(log.contains("65534"), "{log}");
}
