//! The OpenBao store itself: the README policy, check-and-set, leases, token renewal, a sealed
//! server, refused tokens, addresses and TLS.

use super::*;

#[test]
fn bao_round_trip_with_the_readme_policy() {
    let bao = Bao::start();
    let token = bao.user_token(USER, "1h");
    let s = store(&bao, &token);
    assert_eq!(s.kind(), StoreKind::OpenBao);
    assert!(s.shared());

    assert_eq!(value(&s, "refresh/cms"), None);
    s.save("refresh/cms", &secret("rt-one")).unwrap();
    assert_eq!(value(&s, "refresh/cms").as_deref(), Some("rt-one"));
    // Stored as KV v2 data {"value": …} under <mount>/<prefix>/<key>.
    assert_eq!(
        bao.kv_get("tok/alice/refresh/cms").unwrap(),
        serde_json::json!({"value": "rt-one"})
    );
    s.save("refresh/cms", &secret("rt-two")).unwrap();
    let (v, version) = s.load_versioned("refresh/cms").unwrap().unwrap();
    assert_eq!((v.expose_secret(), version), ("rt-two", 2));
    s.save("client-secret/cms", &secret("cs-one")).unwrap();

    // A second agent (another node) sees the same entries.
    let other = store(&bao, &token);
    assert_eq!(value(&other, "refresh/cms").as_deref(), Some("rt-two"));
    assert_eq!(
        value(&other, "client-secret/cms").as_deref(),
        Some("cs-one")
    );

    // Delete removes every version (no refresh token left to undelete); twice is fine.
    s.delete("refresh/cms").unwrap();
    s.delete("refresh/cms").unwrap();
    assert_eq!(value(&other, "refresh/cms"), None);
    assert!(bao.kv_metadata("tok/alice/refresh/cms").is_none());
    assert!(other.load_versioned("refresh/cms").unwrap().is_none());

    // Documents (non-secret JSON) round-trip exactly, and `delete` removes them too.
    let doc = r#"{"issuer":"https://iam.example.org/","scopes":["openid","storage.read:/"]}"#;
    assert_eq!(s.load_document("account/cms").unwrap(), None);
    s.save_document("account/cms", doc).unwrap();
    assert_eq!(
        other.load_document("account/cms").unwrap().as_deref(),
        Some(doc)
    );
    assert!(err_text(s.save_document("account/bad", "not json")).contains("not JSON"));
    s.delete("account/cms").unwrap();
    assert_eq!(other.load_document("account/cms").unwrap(), None);

    // A site that demands check-and-set on every write (`cas_required`): plain saves still work.
    let (status, json) = bao.api(
        "POST",
        "secret/metadata/tok/alice/refresh/strict",
        Some(serde_json::json!({ "cas_required": true })),
    );
    assert_eq!(status, 204, "{json}");
    let (status, json) = bao.api(
        "POST",
        "secret/data/tok/alice/refresh/strict",
        Some(serde_json::json!({ "data": { "value": "x" } })),
    );
    assert_eq!(status, 400, "a plain write is refused there: {json}");
    s.save("refresh/strict", &secret("rt-strict-1")).unwrap();
    s.save("refresh/strict", &secret("rt-strict-2")).unwrap();
    assert_eq!(
        value(&other, "refresh/strict").as_deref(),
        Some("rt-strict-2")
    );

    // Keys that would climb out of the prefix never reach OpenBao.
    assert!(matches!(
        s.save("refresh/../../bob/x", &secret("x")),
        Err(StoreError::InvalidKey { .. })
    ));

    let notes = s.notes().join("\n");
    assert!(
        notes.contains(&bao.addr) && notes.contains("tok/alice"),
        "{notes}"
    );
    assert!(notes.contains("left"), "the token's TTL is shown: {notes}");
    assert_clean(
        &notes,
        &[&token, bao.root_token(), "rt-one", "rt-two", "cs-one"],
    );
}

#[test]
fn bao_check_and_set_lets_one_writer_win() {
    let bao = Bao::start();
    let token = bao.user_token(USER, "1h");
    let a = store(&bao, &token);
    let b = store(&bao, &token);

    // Absent: expected version 0; only the first writer gets it.
    assert!(a.save_cas("refresh/cms", &secret("rt-a1"), 0).unwrap());
    assert!(!b.save_cas("refresh/cms", &secret("rt-b1"), 0).unwrap());
    assert_eq!(value(&b, "refresh/cms").as_deref(), Some("rt-a1"));

    // Both read version 1; a wins, b loses and nothing of b's is written.
    let (_, va) = a.load_versioned("refresh/cms").unwrap().unwrap();
    let (_, vb) = b.load_versioned("refresh/cms").unwrap().unwrap();
    assert_eq!((va, vb), (1, 1));
    assert!(a.save_cas("refresh/cms", &secret("rt-a2"), va).unwrap());
    assert!(!b.save_cas("refresh/cms", &secret("rt-b2"), vb).unwrap());
    // The loser re-reads the newer token, and may write on top of it.
    let (v, version) = b.load_versioned("refresh/cms").unwrap().unwrap();
    assert_eq!((v.expose_secret(), version), ("rt-a2", 2));
    assert!(b
        .save_cas("refresh/cms", &secret("rt-b3"), version)
        .unwrap());
    assert_eq!(value(&a, "refresh/cms").as_deref(), Some("rt-b3"));

    // Eight agents race from the same version: exactly one wins.
    let (_, v) = a.load_versioned("refresh/cms").unwrap().unwrap();
    let agents: Vec<Arc<OpenBaoStore>> = (0..8).map(|_| Arc::new(store(&bao, &token))).collect();
    let barrier = Arc::new(Barrier::new(agents.len()));
    let wins: usize = agents
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (s, barrier) = (Arc::clone(s), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                s.save_cas("refresh/cms", &secret(&format!("rt-race-{i}")), v)
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| usize::from(h.join().unwrap()))
        .sum();
    assert_eq!(wins, 1);
    assert_eq!(a.load_versioned("refresh/cms").unwrap().unwrap().1, v + 1);

    // An entry whose latest version was deleted by hand (not by tok) counts as absent.
    bao.api("DELETE", "secret/data/tok/alice/client-secret/x", None);
    b.save("client-secret/x", &secret("cs-1")).unwrap();
    let (status, _) = bao.api("DELETE", "secret/data/tok/alice/client-secret/x", None);
    assert_eq!(status, 204);
    assert!(a.load_versioned("client-secret/x").unwrap().is_none());
    assert!(a.save_cas("client-secret/x", &secret("cs-2"), 0).unwrap());
    assert_eq!(value(&b, "client-secret/x").as_deref(), Some("cs-2"));
}

#[test]
fn bao_leases_serialise_holders() {
    let bao = Bao::start();
    let token = bao.user_token(USER, "1h");
    let a = store(&bao, &token);
    let b = store(&bao, &token);
    let ttl = Duration::from_millis(2500);

    assert!(a.acquire_lease("refresh/cms", "node-a", ttl).unwrap());
    let lease = bao.kv_get("tok/alice/lease/refresh/cms").unwrap();
    assert_eq!(lease["holder"], "node-a");
    assert!(lease["expires_at"].as_f64().unwrap() > crate::common::unix_now() as f64);
    // A live lease of another holder is never taken; its holder may extend it.
    assert!(!b.acquire_lease("refresh/cms", "node-b", ttl).unwrap());
    assert!(a.acquire_lease("refresh/cms", "node-a", ttl).unwrap());
    assert!(!b.acquire_lease("refresh/cms", "node-b", ttl).unwrap());
    // Other leases are independent.
    assert!(b.acquire_lease("refresh/atlas", "node-b", ttl).unwrap());

    // The holder crashed (never released): past the TTL another agent takes over.
    std::thread::sleep(ttl + Duration::from_millis(200));
    assert!(b.acquire_lease("refresh/cms", "node-b", ttl).unwrap());
    assert!(!a.acquire_lease("refresh/cms", "node-a", ttl).unwrap());
    // Releasing a lease one does not hold changes nothing.
    a.release_lease("refresh/cms", "node-a").unwrap();
    assert!(!a.acquire_lease("refresh/cms", "node-a", ttl).unwrap());
    // Its holder's release frees it at once.
    b.release_lease("refresh/cms", "node-b").unwrap();
    assert!(a.acquire_lease("refresh/cms", "node-a", ttl).unwrap());
    a.release_lease("refresh/cms", "node-a").unwrap();

    // Eight agents race for a free lease: exactly one gets it.
    let agents: Vec<Arc<OpenBaoStore>> = (0..8).map(|_| Arc::new(store(&bao, &token))).collect();
    let barrier = Arc::new(Barrier::new(agents.len()));
    let winners: Vec<usize> = agents
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (s, barrier) = (Arc::clone(s), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                s.acquire_lease("refresh/cms", &format!("node-{i}"), Duration::from_secs(30))
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .enumerate()
        .filter_map(|(i, h)| h.join().unwrap().then_some(i))
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    let lease = bao.kv_get("tok/alice/lease/refresh/cms").unwrap();
    assert_eq!(lease["holder"], format!("node-{}", winners[0]));
}

#[test]
fn bao_token_is_renewed_on_use_and_expiry_is_clear() {
    let bao = Bao::start();
    let policy = "tok-alice";
    bao.put_policy(policy, &crate::common::bao::readme_policy(USER));
    // 6 s, renewable: used every 1.5 s, it must outlive its first TTL by far.
    let renewable = bao.create_token(&[policy], "6s", true, true);
    // 3 s, not renewable: it must expire, with a clear error.
    let fixed = bao.create_token(&[policy], "3s", false, true);
    let r = store(&bao, &renewable);
    let f = store(&bao, &fixed);
    let started = Instant::now();
    r.save("refresh/cms", &secret("rt-renewed")).unwrap();
    f.save("refresh/x", &secret("rt-fixed")).unwrap();
    while started.elapsed() < Duration::from_secs(9) {
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            value(&r, "refresh/cms").as_deref(),
            Some("rt-renewed"),
            "after {:?}",
            started.elapsed()
        );
    }
    let notes = r.notes().join("\n");
    assert!(notes.contains("renewals so far"), "{notes}");
    assert_clean(&notes, &[&renewable, "rt-renewed"]);
    // OpenBao agrees: the token lives, with a fresh TTL.
    let (status, look) = bao.api(
        "POST",
        "auth/token/lookup",
        Some(serde_json::json!({ "token": renewable })),
    );
    assert_eq!(status, 200, "{look}");
    assert!(look["data"]["ttl"].as_u64().unwrap() >= 1, "{look}");

    let e = err_text(f.load("refresh/x"));
    assert!(
        e.contains(&format!(
            "OpenBao at {} refused tok's token (permission denied / expired)",
            bao.addr
        )) && e.contains("bao login"),
        "{e}"
    );
    assert_clean(&e, &[&fixed, "rt-fixed"]);
    let notes = f.notes().join("\n");
    assert!(notes.contains("refused tok's token"), "{notes}");
}

#[test]
fn bao_sealed_is_a_clear_error_and_recovers() {
    let bao = Bao::start();
    let token = bao.user_token(USER, "1h");
    let s = store(&bao, &token);
    s.save("refresh/cms", &secret("rt-before-seal")).unwrap();
    bao.seal();
    let e = s.load("refresh/cms").unwrap_err();
    assert!(matches!(e, StoreError::Unavailable { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("OpenBao at {} is sealed: unseal it", bao.addr))
            && text.contains("cached tokens keep being served"),
        "{text}"
    );
    let w = err_text(s.save("refresh/cms", &secret("rt-while-sealed")));
    assert!(w.contains("is sealed"), "{w}");
    assert!(s.notes().join("\n").contains("is sealed"));
    assert_clean(
        &format!("{text}\n{w}"),
        &[&token, "rt-before-seal", "rt-while-sealed"],
    );
    // Unsealed: the same store carries on, nothing lost.
    bao.unseal();
    assert_eq!(value(&s, "refresh/cms").as_deref(), Some("rt-before-seal"));
    assert!(!s.notes().join("\n").contains("last error"));
}

#[test]
fn bao_refused_tokens_are_clear_errors() {
    let bao = Bao::start();
    // Bob's token, least privilege for tok/bob: alice's entries are out of reach.
    let bob = bao.user_token("bob", "1h");
    let alice = bao.user_token(USER, "1h");
    store(&bao, &alice)
        .save("refresh/cms", &secret("rt-alice"))
        .unwrap();
    let wrong = OpenBaoStore::open(config(&bao.addr, USER, &bob)).unwrap();
    let bogus = OpenBaoStore::open(config(&bao.addr, USER, "s.NotARealTokenAtAll")).unwrap();
    let mut texts = vec![];
    for s in [&wrong, &bogus] {
        for e in [
            err_text(s.load("refresh/cms")),
            err_text(s.save("refresh/cms", &secret("rt-stolen"))),
            err_text(s.delete("refresh/cms")),
            err_text(s.acquire_lease("refresh/cms", "node-x", Duration::from_secs(5))),
        ] {
            assert!(
                e.contains(&format!("OpenBao at {} refused tok's token", bao.addr))
                    && e.contains("bao login")
                    && e.contains("secret/data/tok/alice/*"),
                "{e}"
            );
            texts.push(e);
        }
    }
    assert_clean(
        &texts.join("\n"),
        &[&bob, &alice, "s.NotARealTokenAtAll", "rt-"],
    );
    // Bob's own path works with his token (the policy is per user, not broken).
    let own = OpenBaoStore::open(config(&bao.addr, "bob", &bob)).unwrap();
    own.save("refresh/cms", &secret("rt-bob")).unwrap();
    assert_eq!(value(&own, "refresh/cms").as_deref(), Some("rt-bob"));
    assert_eq!(
        bao.kv_get("tok/alice/refresh/cms").unwrap()["value"],
        "rt-alice"
    );

    // A token file (what `bao login` writes) is read again when it changes.
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join(".vault-token");
    std::fs::write(&file, "s.NotARealTokenAtAll\n").unwrap();
    let mut cfg = config(&bao.addr, USER, "");
    cfg.token = TokenSource::File(file.clone());
    let from_file = OpenBaoStore::open(cfg).unwrap();
    let e = err_text(from_file.load("refresh/cms"));
    assert!(
        e.contains("refused tok's token") && e.contains(".vault-token"),
        "{e}"
    );
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&file, format!("{alice}\n")).unwrap();
    assert_eq!(
        value(&from_file, "refresh/cms").as_deref(),
        Some("rt-alice")
    );
    std::fs::remove_file(&file).unwrap();
    let e = err_text(from_file.load("refresh/cms"));
    assert!(
        e.contains("no OpenBao token") && e.contains("does not exist"),
        "{e}"
    );
}

#[test]
fn bao_addresses_tls_and_reachability() {
    let bao = Bao::start();
    let token = bao.user_token(USER, "1h");
    // Plain http is refused anywhere but loopback, before any request.
    for addr in ["http://openbao.example.org:8200", "http://10.1.2.3:8200"] {
        let e = err_text(OpenBaoStore::open(config(addr, USER, &token)));
        assert!(
            e.contains("plain http") && e.contains("OpenBao") && e.contains("use https"),
            "{e}"
        );
        assert_clean(&e, &[&token]);
    }
    // https with the site's CA (BAO_CACERT): works.
    let mut cfg = config(&bao.tls_addr, USER, &token);
    cfg.ca_file = Some(crate::common::provider::test_ca().ca_pem_path());
    let tls = OpenBaoStore::open(cfg).unwrap();
    tls.save("refresh/cms", &secret("rt-over-tls")).unwrap();
    assert_eq!(value(&tls, "refresh/cms").as_deref(), Some("rt-over-tls"));
    // Without it the certificate is not trusted: the error says what to set.
    let untrusted = OpenBaoStore::open(config(&bao.tls_addr, USER, &token)).unwrap();
    let e = err_text(untrusted.load("refresh/cms"));
    assert!(
        e.contains("cannot reach OpenBao") && e.contains("BAO_CACERT"),
        "{e}"
    );
    // A CA file that is not PEM is refused at open.
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), "not a certificate").unwrap();
    let mut cfg = config(&bao.tls_addr, USER, &token);
    cfg.ca_file = Some(junk.path().to_path_buf());
    let e = err_text(OpenBaoStore::open(cfg));
    assert!(e.contains("BAO_CACERT"), "{e}");
    // A server that is gone: unavailable, quickly, and recovery needs nothing from tok.
    let s = store(&bao, &token);
    let mut bao = bao;
    bao.stop();
    let started = Instant::now();
    let e = s.load("refresh/cms").unwrap_err();
    assert!(matches!(e, StoreError::Unavailable { .. }), "{e}");
    assert!(e.to_string().contains("cannot reach OpenBao"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_clean(&e.to_string(), &[&token, "rt-over-tls"]);
}
