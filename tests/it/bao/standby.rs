//! Issue 21: a 3-node Raft cluster with OpenBao's default standby reads (a standby answers
//! reads from its own copy, which lags the active node), and tok pointed at a standby. The
//! reads that decide a refresh (the lease, the refresh token and its version for
//! check-and-set) must see the active node's state, or an agent sends a refresh token that
//! was already used and, at a provider that punishes reuse, loses the login.

use super::*;
use crate::common::bao::ClusterOpts;

/// A store for `tok/<user>` on node `i` of the cluster (an agent whose BAO_ADDR is that node).
fn cluster_store(cluster: &BaoCluster, i: usize, token: &str) -> OpenBaoStore {
    let mut cfg = config(cluster.addr(i), USER, token);
    cfg.ca_file = Some(cluster.ca_file());
    OpenBaoStore::open(cfg).expect("the store opens")
}

/// The premise, shown on the raw API: a write sent to a standby is forwarded to the active
/// node, and a read sent to the same standby right after it is answered from the standby's
/// copy, which does not have the write yet. Returns how many of `tries` reads were stale.
fn stale_reads_at(cluster: &BaoCluster, standby: usize, tries: usize) -> usize {
    let root = cluster.root_token();
    (0..tries)
        .filter(|n| {
            let path = "secret/data/premise";
            let body = serde_json::json!({ "data": { "n": n } });
            let (status, json) = cluster.api_at(standby, root, "POST", path, Some(body));
            assert_eq!(status, 200, "the standby forwards the write: {json}");
            let (status, json) = cluster.api_at(standby, root, "GET", path, None);
            status != 200 || json["data"]["data"]["n"] != *n
        })
        .count()
}

/// Takes the free lease as the agent does (`agent::nodes::lease`): a `false` is retried, since
/// the lease read before it may come from a standby's lagging copy (the check-and-set write
/// that takes the lease is decided by the active node, so a stale read only delays). Returns
/// how many tries were refused.
fn take_lease(agent: &OpenBaoStore, key: &str, holder: &str, ttl: Duration, round: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut refused = 0;
    while !agent.acquire_lease(key, holder, ttl).unwrap() {
        refused += 1;
        assert!(
            Instant::now() < deadline,
            "round {round}: {holder} cannot take the free lease within 5 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    refused
}

/// An agent at a standby rotates a refresh token under the lease, as the agent does (lease,
/// read, check-and-set write, release), round after round, while another agent at the active
/// node does the same: every read sees the last rotation, whoever wrote it. Before tok sent
/// OpenBao's consistency headers (`X-Vault-Index` with `X-Vault-Inconsistent:
/// forward-active-node`), the standby answered the read right after a rotation with the
/// refresh token just used, at the version just replaced.
#[test]
fn bao_standby_reads_see_the_active_nodes_state() {
    let started = Instant::now();
    let cluster = BaoCluster::start_with(ClusterOpts {
        standby_reads: true,
    });
    let up = started.elapsed();
    let leader = cluster.leader().expect("an active node");
    let standby = (leader + 1) % 3;
    // The cluster really answers stale reads at a standby (OpenBao's default since 2.5).
    let stale = stale_reads_at(&cluster, standby, 20);
    assert!(
        stale > 0,
        "the standby answered every read-after-write with the write's value: standby reads \
         seem off, so this test proves nothing"
    );

    let token = cluster.user_token(USER, "1h");
    let at_standby = cluster_store(&cluster, standby, &token);
    let at_active = cluster_store(&cluster, leader, &token);
    let key = "refresh/cms";
    at_active.save(key, &secret("rt-0")).unwrap();
    let ttl = Duration::from_secs(30);
    let rounds = 12;
    let mut lease_waits = 0;
    for round in 1..=rounds {
        // Odd rounds the standby's agent refreshes, even rounds the active node's.
        let (agent, holder) = if round % 2 == 1 {
            (&at_standby, "node-standby")
        } else {
            (&at_active, "node-active")
        };
        let expected = format!("rt-{}", round - 1);
        lease_waits += take_lease(agent, key, holder, ttl, round);
        let (now, version) = agent.load_versioned(key).unwrap().expect("a refresh token");
        assert_eq!(
            now.expose_secret(),
            expected,
            "round {round}: {holder} reads the refresh token last stored (a stale read here \
             sends a used refresh token to the provider)"
        );
        assert!(
            agent
                .save_cas(key, &secret(&format!("rt-{round}")), version)
                .unwrap(),
            "round {round}: {holder}'s check-and-set on version {version} wins"
        );
        // The rotation is visible at once to the agent that wrote it.
        let (again, v2) = agent.load_versioned(key).unwrap().unwrap();
        assert_eq!(
            (again.expose_secret(), v2),
            (format!("rt-{round}").as_str(), version + 1),
            "round {round}: {holder} reads back its own rotation"
        );
        agent.release_lease(key, holder).unwrap();
    }
    // The standby's agent also reads back a lease it just took (not another holder's).
    assert!(at_standby
        .acquire_lease("refresh/atlas", "node-standby", ttl)
        .unwrap());
    assert!(!at_active
        .acquire_lease("refresh/atlas", "node-active", ttl)
        .unwrap());
    at_standby
        .release_lease("refresh/atlas", "node-standby")
        .unwrap();
    assert!(at_active
        .acquire_lease("refresh/atlas", "node-active", ttl)
        .unwrap());
    let notes = at_standby.notes().join("\n");
    assert!(
        notes.contains("X-Vault-Index"),
        "`tok status` says how reads stay fresh: {notes}"
    );
    eprintln!(
        "cluster up after {up:.1?}; tok at node {standby} (leader {leader}); {stale}/20 raw \
         reads at the standby were stale; {rounds} rounds, {lease_waits} lease reads retried; \
         test {:.1?}",
        started.elapsed()
    );
}

/// The real agents: one at a standby, one at the active node, one login at a provider that
/// rotates refresh tokens and ends the grant when a used one comes back. The standby's agent
/// gets three forced refreshes at once and runs them back to back (its lease from one refresh
/// is not released yet when the next takes it again, and reads the refresh token just
/// stored), the other agent refreshes in between: no refresh token is sent twice, and the
/// login is alive at the end.
#[test]
fn bao_agents_at_a_standby_with_standby_reads_never_reuse_a_refresh_token() {
    let started = Instant::now();
    let (provider, cluster) = std::thread::scope(|s| {
        let provider = s.spawn(|| {
            Provider::start_with(ProviderOpts {
                rotate: true,
                ..Default::default()
            })
        });
        let cluster = BaoCluster::start_with(ClusterOpts {
            standby_reads: true,
        });
        (provider.join().unwrap(), cluster)
    });
    let leader = cluster.leader().expect("an active node");
    let standby = (leader + 1) % 3;
    let user = login_name();
    let token = cluster.user_token(&user, "1h");
    let agents: Vec<TestEnv> = [standby, leader]
        .iter()
        .map(|&node| {
            let mut env = TestEnv::new();
            env.set_env("TOK_STORE", "openbao");
            env.set_env("BAO_ADDR", cluster.addr(node));
            env.set_env("BAO_CACERT", cluster.ca_file().display().to_string());
            env.set_env("BAO_TOKEN", token.as_str());
            env
        })
        .collect();
    agents[0].login_cms(&provider);
    let before = provider.refreshes();
    let mut failed = vec![];
    for round in 0..5 {
        // Three forced refreshes at once at the standby (the agent runs them one after the
        // other under one lease each), then one at the active node.
        let outs: Vec<_> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..3)
                .map(|i| {
                    let scope = format!("storage.read:/r{round}/{i}");
                    let agent = &agents[0];
                    s.spawn(move || agent.run(&["get", "-a", "cms", "-s", &scope, "--force"]))
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let scope = format!("storage.read:/r{round}/active");
        let last = agents[1].run(&["get", "-a", "cms", "-s", &scope, "--force"]);
        for out in outs.iter().chain([&last]) {
            if out.code != Some(0) {
                failed.push(format!("round {round}: {out}"));
            }
        }
    }
    let refreshes = provider.refreshes() - before;
    eprintln!(
        "tok at node {standby} and {leader}: {refreshes} refreshes, {} failed; test {:.1?}",
        failed.len(),
        started.elapsed()
    );
    assert!(
        failed.is_empty(),
        "every forced refresh works:\n{}",
        failed.join("\n")
    );
    assert_eq!(
        provider.log().matches("invalid_grant").count(),
        0,
        "no refresh token was sent twice"
    );
    for agent in &agents {
        agent.token(&["-a", "cms", "-s", "storage.read:/end", "--force"]);
    }
}
