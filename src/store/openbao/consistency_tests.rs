//! Unit tests of the index headers against a scripted HTTP server: what tok sends before and
//! after OpenBao gave an index, and what it says about a cluster that gives none.

use super::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// A loopback server answering one request per connection: `X-Vault-Index` on every answer
/// when `index` is given, `ha_enabled` at `sys/leader`, an empty KV entry elsewhere. Returns
/// its address and the request heads it saw (lower-cased).
fn scripted(index: Option<&'static str>, ha: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(vec![]));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&lower);
            }
            let mut body = vec![0; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            let answer = if head.contains("/v1/sys/leader ") {
                format!(r#"{{"ha_enabled":{ha}}}"#)
            } else if head.contains("lookup-self") {
                r#"{"data":{"ttl":0}}"#.to_string()
            } else {
                r#"{"data":{"data":null,"metadata":{"version":3}}}"#.to_string()
            };
            log.lock().unwrap().push(head);
            let index = index
                .map(|i| format!("X-Vault-Index: {i}\r\n"))
                .unwrap_or_default();
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{index}Content-Length: {}\r\n\
                 Connection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (addr, seen)
}

fn open(addr: &str) -> OpenBaoStore {
    OpenBaoStore::open(OpenBaoConfig {
        addr: addr.to_string(),
        mount: "secret".to_string(),
        prefix: "tok/alice".to_string(),
        ca_file: None,
        token: TokenSource::Env {
            var: "BAO_TOKEN",
            token: SecretString::from("s.not-a-real-token"),
        },
    })
    .unwrap()
}

/// OpenBao's index for cluster `c1` at 41, as 2.7 sends it.
const INDEX: &str = "eyJjbHVzdGVyIjoiYzEiLCJ2YWx1ZSI6IjQxIn0=";

#[test]
fn an_index_once_given_goes_back_with_forward_active_node() {
    let (addr, seen) = scripted(Some(INDEX), true);
    let store = open(&addr);
    store.load_versioned("refresh/cms").unwrap();
    let heads = seen.lock().unwrap().clone();
    // The token lookup when the store opened carried no index: none was known yet.
    assert!(heads[0].contains("lookup-self"), "{heads:?}");
    assert!(!heads[0].contains("x-vault-index"), "{}", heads[0]);
    assert!(!heads[0].contains("x-vault-inconsistent"), "{}", heads[0]);
    // Its answer had one: the read sends it back, asking a lagging standby to forward.
    let read = heads.last().unwrap();
    assert!(
        read.contains("/v1/secret/data/tok/alice/refresh/cms"),
        "{read}"
    );
    assert!(
        read.contains(&format!("x-vault-index: {}", INDEX.to_ascii_lowercase())),
        "{read}"
    );
    assert!(
        read.contains("x-vault-inconsistent: forward-active-node"),
        "{read}"
    );
    // No question to `sys/leader`: a server that gives an index needs none.
    assert!(!heads.iter().any(|h| h.contains("sys/leader")), "{heads:?}");
    let notes = store.notes().join("\n");
    assert!(notes.contains("X-Vault-Index, so a standby"), "{notes}");
}

#[test]
fn a_cluster_without_an_index_is_named_and_a_single_server_is_not() {
    let (addr, seen) = scripted(None, true);
    let store = open(&addr);
    store.load_versioned("refresh/cms").unwrap();
    let heads = seen.lock().unwrap().clone();
    assert!(
        heads.iter().any(|h| h.contains("/v1/sys/leader ")),
        "{heads:?}"
    );
    // Never `X-Vault-Inconsistent` without an index: alone it would opt out of a listener's
    // `consistency_missing_header_forward`.
    assert!(
        !heads
            .iter()
            .any(|h| h.contains("x-vault-index") || h.contains("x-vault-inconsistent")),
        "{heads:?}"
    );
    let notes = store.notes().join("\n");
    assert!(notes.contains("disable_standby_reads = true"), "{notes}");

    let (addr, _) = scripted(None, false);
    let notes = open(&addr).notes().join("\n");
    assert!(
        !notes.contains("reads:"),
        "a dev server or single node: {notes}"
    );
}
