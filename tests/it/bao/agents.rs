//! Agents on several nodes sharing one OpenBao store: one login for all, one rotation at a
//! time, crashed lease holders, a sealed server, a lost Raft leader.

use super::*;

/// The environment for an agent of `tok` that keeps its secrets in `bao`.
fn bao_env(env: &mut TestEnv, bao: &Bao) {
    env.set_env("TOK_STORE", "openbao");
    env.set_env("BAO_ADDR", bao.addr.as_str());
}

#[test]
fn bao_agent_keeps_its_login_in_openbao() {
    let provider = Provider::start();
    let bao = Bao::start();
    let user = login_name();
    let token = bao.user_token(&user, "1h");
    let mut env = TestEnv::new();
    bao_env(&mut env, &bao);
    env.set_env("BAO_TOKEN", token.as_str());
    env.login_cms(&provider);

    // The refresh token is in OpenBao, under the default prefix tok/<login name>.
    let path = format!("tok/{user}/refresh/cms");
    let stored = bao.kv_get(&path).expect("the refresh token is in OpenBao");
    let rt = stored["value"].as_str().unwrap().to_string();
    assert!(!rt.is_empty());

    let status = env.run(&["status", "--json"]).ok();
    assert!(status.stdout.contains("openbao"), "{status}");
    let first = env.token(&["--scope", "storage.read:/store"]);
    assert!(!first.is_empty());

    // A new agent on this node has nothing in memory: it refreshes from OpenBao's copy.
    env.stop_agent();
    let before = provider.refreshes();
    let again = env.token(&["--scope", "storage.read:/store", "--force"]);
    assert!(!again.is_empty());
    assert!(provider.refreshes() > before);

    // Neither the refresh token nor the OpenBao token is in the agent's log or any output.
    let log = env.agent_log();
    assert!(log.contains("openbao"), "{log}");
    assert_clean(&log, &[&rt, &token]);
    assert_clean(&status.stdout, &[&rt, &token]);
    assert_clean(&status.stderr, &[&rt, &token]);

    // Logout deletes the entry with all its versions.
    env.run(&["logout", "cms"]).ok();
    assert!(bao.kv_metadata(&path).is_none());
}

/// A second node shares the login: a fresh HOME and config, the same OpenBao path, the token
/// in `~/.vault-token` as `bao login` leaves it.
#[test]
fn bao_second_node_gets_tokens_without_login() {
    let provider = Provider::start();
    let bao = Bao::start();
    let user = login_name();
    let token = bao.user_token(&user, "1h");
    let mut first = TestEnv::new();
    bao_env(&mut first, &bao);
    first.set_env("BAO_TOKEN", token.as_str());
    first.login_cms(&provider);
    first.token(&["--scope", "storage.read:/store"]);

    let mut second = TestEnv::new();
    bao_env(&mut second, &bao);
    std::fs::write(second.path().join("home/.vault-token"), &token).unwrap();
    let status = second.run(&["status", "--json"]).ok();
    assert!(status.stdout.contains("cms"), "{status}");
    let t = second.token(&["--account", "cms", "--scope", "storage.read:/store"]);
    assert!(!t.is_empty());
    // Both nodes keep working with the one login.
    first.token(&["--scope", "storage.read:/store", "--force"]);
    second.token(&[
        "--account",
        "cms",
        "--scope",
        "storage.read:/store",
        "--force",
    ]);
}

/// Issue 12: three agents (three "machines") share one login at a provider that rotates refresh
/// tokens and punishes reuse, with 2 s access tokens: interleaved requests never see
/// `invalid_grant`, and the grant is alive at the end.
#[test]
fn bao_three_agents_share_one_rotating_login() {
    let provider = Provider::start_with(ProviderOpts {
        at_ttl: 2,
        rotate: true,
        ..Default::default()
    });
    let bao = Bao::start();
    let token = bao.user_token(&login_name(), "1h");
    let nodes: Vec<TestEnv> = (0..3)
        .map(|_| {
            let mut env = TestEnv::new();
            bao_env(&mut env, &bao);
            env.set_env("BAO_TOKEN", token.as_str());
            env
        })
        .collect();
    nodes[0].login_cms(&provider);
    let before = provider.refreshes();
    let failures = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for (i, node) in nodes.iter().enumerate() {
            let failures = &failures;
            s.spawn(move || {
                for n in 0..100 {
                    let scope = format!("storage.read:/n{}", (i + n) % 4);
                    let mut args =
                        vec!["get", "-a", "cms", "-s", scope.as_str(), "--min-valid", "1"];
                    if n % 10 == 0 {
                        args.push("--force");
                    }
                    let out = node.run(&args);
                    if out.code != Some(0) {
                        failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        eprintln!("{out}");
                    }
                }
            });
        }
    });
    assert_eq!(
        failures.into_inner(),
        0,
        "300 requests across three agents, none failed"
    );
    for node in &nodes {
        node.token(&["-a", "cms", "-s", "storage.read:/end", "--force"]);
    }
    let refreshes = provider.refreshes() - before;
    eprintln!("provider refreshes for 300 requests on 3 agents: {refreshes}");
    assert!(
        provider.log().matches("invalid_grant").count() == 0,
        "no refresh token was reused"
    );
}

/// Issue 12: an agent killed while it holds the account's lease blocks the others only until
/// the lease expires; nothing is lost.
#[test]
fn bao_a_crashed_lease_holder_does_not_block_the_others_for_long() {
    // Not rotating: the provider completes the dead agent's refresh anyway, and with rotation
    // that rotated token died with the agent (the one window no store can close; see
    // tests/it/crash.rs). What is tested here is the lease.
    let provider = Provider::start();
    let bao = Bao::start();
    let token = bao.user_token(&login_name(), "1h");
    let mut a = TestEnv::new();
    let mut b = TestEnv::new();
    for env in [&mut a, &mut b] {
        bao_env(env, &bao);
        env.set_env("BAO_TOKEN", token.as_str());
    }
    a.login_cms(&provider);
    // A starts a slow refresh, and dies holding the lease.
    provider.fault("slow", 4000);
    let child = a
        .command(&["get", "-a", "cms", "-s", "storage.read:/slow"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = a.agent_pid() as i32;
    // SAFETY: kill(2) on the agent the test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = crate::common::wait_with_timeout(child, std::time::Duration::from_secs(10));
    provider.fault("none", 0);
    // B waits out the lease (TOK_HTTP_TIMEOUT 3 s + 5 s), then refreshes.
    let started = std::time::Instant::now();
    b.token(&["-a", "cms", "-s", "storage.read:/after"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // And A, restarted, still has the login.
    a.token(&["-a", "cms", "-s", "storage.read:/again", "--force"]);
}

/// Issue 12: OpenBao sealed: cached tokens keep being served, new ones fail naming OpenBao
/// (exit 4), and everything works again after unsealing.
#[test]
fn bao_sealed_keeps_cached_tokens_and_recovers() {
    let provider = Provider::start();
    let bao = Bao::start();
    let token = bao.user_token(&login_name(), "1h");
    let mut env = TestEnv::new();
    bao_env(&mut env, &bao);
    env.set_env("BAO_TOKEN", token.as_str());
    env.login_cms(&provider);
    let cached = env.token(&["-s", "storage.read:/c"]);
    bao.seal();
    assert_eq!(env.token(&["-s", "storage.read:/c"]), cached);
    let out = env.run(&["get", "-s", "storage.read:/new"]).code(4);
    assert!(out.stderr.contains("OpenBao"), "{out}");
    assert!(out.stderr.contains("sealed"), "{out}");
    bao.unseal();
    env.token(&["-s", "storage.read:/new"]);
}

/// Issue 12: with `share_access_tokens = true`, three nodes asking for the same scope and
/// audience cost one provider refresh, not three; without it, three.
#[test]
fn bao_shared_access_tokens_save_refreshes() {
    let provider = Provider::start();
    let bao = Bao::start();
    let token = bao.user_token(&login_name(), "1h");
    let nodes: Vec<TestEnv> = (0..3)
        .map(|_| {
            let mut env = TestEnv::new();
            bao_env(&mut env, &bao);
            env.set_env("BAO_TOKEN", token.as_str());
            env
        })
        .collect();
    nodes[0].login_cms(&provider);
    let count = |scope: &str| {
        let before = provider.refreshes();
        for node in &nodes {
            node.token(&["-a", "cms", "-s", scope, "--aud", "https://se.example.org"]);
        }
        provider.refreshes() - before
    };
    assert_eq!(
        count("storage.read:/unshared"),
        3,
        "each node refreshes for itself"
    );
    for node in &nodes {
        let config = node.path().join("config/tok/config.toml");
        let old = std::fs::read_to_string(&config).unwrap_or_default();
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(&config, format!("share_access_tokens = true\n{old}")).unwrap();
    }
    assert_eq!(
        count("storage.read:/shared"),
        1,
        "one refresh serves all three nodes"
    );
}

/// Issue 12: a 3-node Raft cluster over TLS, tok pointed at a standby, and the Raft leader
/// killed mid-run. The standby forwards tok's requests to the active node (the cluster runs
/// with `disable_standby_reads = true`, as OpenBao 2.5 and 2.6 must; OpenBao's default standby
/// reads are tested in `standby.rs`). While the cluster re-elects, the standby
/// cannot forward and answers with redirects, which tok does not follow: cached tokens are
/// served throughout, a new scope fails with exit 4 naming OpenBao, and refreshes resume within
/// 20 s of the kill, with the login intact.
#[test]
fn bao_raft_leader_loss_keeps_cached_tokens_and_refreshes_resume() {
    let started = Instant::now();
    // The provider (node) and the cluster start side by side: both take seconds.
    let (provider, mut cluster) = std::thread::scope(|s| {
        let provider = s.spawn(Provider::start);
        let cluster = BaoCluster::start();
        (provider.join().unwrap(), cluster)
    });
    let up = started.elapsed();
    let leader = cluster.leader().expect("an active node");
    let standby = (leader + 1) % 3;
    // The standby forwards a write (no redirect) while the active node is up.
    let (status, json) = cluster.api_at(
        standby,
        cluster.root_token(),
        "POST",
        "secret/data/forwarded",
        Some(serde_json::json!({ "data": { "via": "standby" } })),
    );
    assert_eq!(status, 200, "the standby forwards writes: {json}");
    let user = login_name();
    let token = cluster.user_token(&user, "1h");
    let mut env = TestEnv::new();
    env.set_env("TOK_STORE", "openbao");
    env.set_env("BAO_ADDR", cluster.addr(standby));
    env.set_env("BAO_CACERT", cluster.ca_file().display().to_string());
    env.set_env("BAO_TOKEN", token.as_str());
    env.login_cms(&provider);
    let path = format!("tok/{user}/refresh/cms");
    let rt = cluster
        .kv_get(&path)
        .expect("the refresh token is in OpenBao")["value"]
        .clone();
    let cached = env.token(&["-s", "storage.read:/cached"]);
    env.token(&["-s", "storage.read:/before"]);

    cluster.stop(leader);
    let killed = Instant::now();
    let mut failed = vec![];
    let resumed = loop {
        let again = env.run(&["get", "-s", "storage.read:/cached"]).ok();
        assert_eq!(again.stdout.trim(), cached, "the cached token is served");
        let scope = format!("storage.read:/new{}", failed.len());
        let out = env.run(&["get", "-s", &scope]);
        if out.code == Some(0) {
            break killed.elapsed();
        }
        failed.push(out);
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "no refresh within 20 s of the leader's death; the last failure:\n{}\n{}",
            failed.last().unwrap(),
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let new_leader = cluster.wait_for_leader(Duration::from_secs(5));
    eprintln!(
        "cluster up after {up:.1?}; leader {leader} killed, tok at node {standby}; new leader \
         {new_leader:?}; refreshes resumed {resumed:.1?} after the kill, {} new-scope requests \
         failed before; test {:.1?}",
        failed.len(),
        started.elapsed()
    );
    assert!(new_leader.is_some_and(|l| l != leader));
    // No login lost: the same refresh token in OpenBao, and a forced refresh works.
    assert_eq!(cluster.kv_get(&path).unwrap()["value"], rt);
    env.token(&["-s", "storage.read:/after", "--force"]);
    assert_eq!(env.token(&["-s", "storage.read:/cached"]), cached);
    // What failed meanwhile said OpenBao, and "retry later" (exit 4), not a hard error.
    for out in &failed {
        assert!(out.stderr.contains("OpenBao"), "{out}");
        assert_eq!(
            out.code,
            Some(4),
            "a new scope while the cluster re-elects: OpenBao unavailable, exit 4\n{out}"
        );
    }
}
