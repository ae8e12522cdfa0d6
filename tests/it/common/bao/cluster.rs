//! A three-node OpenBao cluster on Raft with TLS, brought up as an operator does (init,
//! unseal, join), for the multi-node store tests.

use super::*;

/// One node of a [`BaoCluster`].
pub(super) struct Node {
    pub(super) child: Option<Child>,
    /// `https://127.0.0.1:PORT`.
    pub(super) addr: String,
    pub(super) log: PathBuf,
}

/// Three `bao server` processes forming one OpenBao cluster on Raft (integrated storage), over
/// TLS on loopback with the test CA's leaf certificate: every node joins by `retry_join`, node 0
/// is initialised with one unseal key, all three are unsealed, and KV version 2 is at `secret/`.
/// Standbys forward requests to the active node over the cluster port (see [`ClusterOpts`] for
/// reads). Timing differs from OpenBao's defaults: `performance_multiplier = 1` (a 1 s Raft
/// election timeout instead of 5 s) and a quick autopilot (joined nodes become voters after 1 s
/// instead of 10 s), so the cluster is up in about 8 s and re-elects a leader within seconds.
/// Each node has its own HOME: the `bao` CLI never writes the real `~/.vault-token`.
pub struct BaoCluster {
    pub(super) nodes: Vec<Node>,
    pub(super) root_token: String,
    pub(super) http: reqwest::blocking::Client,
    pub(super) _dir: tempfile::TempDir,
}

/// How long the cluster may take to come up (starting, initialising, joining, promoting).
pub(super) const CLUSTER_START: Duration = Duration::from_secs(40);

/// How a [`BaoCluster`] is set up.
#[derive(Clone, Copy, Default)]
pub struct ClusterOpts {
    /// Whether standbys answer reads from their own copy of the data, OpenBao's default since
    /// 2.5: that copy lags the active node (50-150 ms here), so a client reading right after
    /// its own (forwarded) write gets the old value unless it sends the write's
    /// `X-Vault-Index`, as tok does (`tests/it/bao/standby.rs`). Off by default here
    /// (`disable_standby_reads = true`: standbys forward every request), as OpenBao 2.5 and 2.6
    /// clusters must run for tok; the leader-loss test keeps that setup.
    pub standby_reads: bool,
}

impl BaoCluster {
    /// Starts the cluster as the README advises sites to run it; panics with the nodes' logs
    /// when it does not come up.
    pub fn start() -> Self {
        Self::start_with(ClusterOpts::default())
    }

    pub fn start_with(opts: ClusterOpts) -> Self {
        let mut last = String::new();
        // A port taken between choosing and binding makes a node exit: try fresh ports.
        for _ in 0..3 {
            match Self::try_start(opts) {
                Ok(c) => return c,
                Err(log) => last = log,
            }
        }
        panic!("the OpenBao cluster did not start:\n{last}");
    }

    pub(super) fn try_start(opts: ClusterOpts) -> Result<Self, String> {
        let ca = test_ca();
        let dir = tempfile::Builder::new()
            .prefix("tok-bao-raft")
            .tempdir()
            .unwrap();
        // API port P and cluster port P+1 per node, all six distinct.
        let mut ports: Vec<u16> = vec![];
        while ports.len() < 3 {
            let p = daemon::free_port_pair();
            if ports.iter().all(|q| q.abs_diff(p) >= 2) {
                ports.push(p);
            }
        }
        // Never follow a standby's redirect: the tests look at what the node itself says.
        let http = daemon::trusting_client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut nodes = vec![];
        for (i, &port) in ports.iter().enumerate() {
            let node_dir = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(node_dir.join("raft")).unwrap();
            std::fs::create_dir_all(node_dir.join("home")).unwrap();
            let joins: String = ports
                .iter()
                .filter(|&&p| p != port)
                .map(|p| {
                    format!(
                        "  retry_join {{\n    leader_api_addr = \"https://127.0.0.1:{p}\"\n    \
                         leader_ca_cert_file = \"{}\"\n  }}\n",
                        ca.ca_pem_path().display()
                    )
                })
                .collect();
            let config = format!(
                "storage \"raft\" {{\n  path = \"{raft}\"\n  node_id = \"node{i}\"\n  \
                 performance_multiplier = 1\n  autopilot_reconcile_interval = \"500ms\"\n  \
                 autopilot_update_interval = \"250ms\"\n{joins}}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  \
                 cluster_address = \"127.0.0.1:{cport}\"\n  tls_cert_file = \"{cert}\"\n  \
                 tls_key_file = \"{key}\"\n}}\n\
                 api_addr = \"https://127.0.0.1:{port}\"\n\
                 cluster_addr = \"https://127.0.0.1:{cport}\"\n\
                 disable_mlock = true\nui = false\ndisable_standby_reads = {}\n",
                !opts.standby_reads,
                raft = node_dir.join("raft").display(),
                cport = port + 1,
                cert = ca.leaf_cert().display(),
                key = ca.leaf_key().display(),
            );
            let config_file = node_dir.join("config.hcl");
            std::fs::write(&config_file, config).unwrap();
            let log = node_dir.join("bao.log");
            let child = Command::new(bao_bin())
                .args(["server", &format!("-config={}", config_file.display())])
                .env_clear()
                .env("HOME", node_dir.join("home"))
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(Stdio::from(
                    std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
                ))
                .spawn()
                .expect("cannot run bao");
            nodes.push(Node {
                child: Some(child),
                addr: format!("https://127.0.0.1:{port}"),
                log,
            });
        }
        let mut cluster = Self {
            nodes,
            root_token: String::new(),
            http,
            _dir: dir,
        };
        match cluster.bring_up(Instant::now() + CLUSTER_START) {
            Ok(()) => Ok(cluster),
            Err(why) => Err(format!("{why}\n{}", cluster.logs())),
        }
    }

    /// Initialises node 0, unseals all, waits for three voters and enables KV v2 at `secret/`.
    pub(super) fn bring_up(&mut self, deadline: Instant) -> Result<(), String> {
        let step = |what: &str, done: &mut dyn FnMut() -> bool| -> Result<(), String> {
            while !done() {
                if Instant::now() > deadline {
                    return Err(format!("timed out: {what}"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        };
        // Every node listens (uninitialised: HTTP 501); one that exited (a port taken since it
        // was chosen) fails the attempt at once.
        for i in 0..3 {
            while self.status_at(i, "sys/health").is_none() {
                if let Some(Ok(Some(status))) = self.nodes[i].child.as_mut().map(Child::try_wait) {
                    return Err(format!("node {i} exited ({status})"));
                }
                if Instant::now() > deadline {
                    return Err(format!("timed out: node {i} listening"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // `bao operator init` on node 0, as an operator does.
        let node0 = self.dir_of(0);
        let out = Command::new(bao_bin())
            .args([
                "operator",
                "init",
                "-key-shares=1",
                "-key-threshold=1",
                "-format=json",
            ])
            .env_clear()
            .env("HOME", node0.join("home"))
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BAO_ADDR", &self.nodes[0].addr)
            .env("BAO_CACERT", test_ca().ca_pem_path())
            .output()
            .expect("cannot run bao operator init");
        let init: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|_| {
            format!(
                "bao operator init failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        self.root_token = init["root_token"].as_str().unwrap_or_default().to_string();
        let key = init["unseal_keys_b64"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // Node 0 unsealed becomes the active node of a one-voter cluster.
        let unseal = |http: &reqwest::blocking::Client, addr: &str| -> bool {
            http.put(format!("{addr}/v1/sys/unseal"))
                .json(&serde_json::json!({ "key": key }))
                .send()
                .and_then(|r| r.json::<serde_json::Value>())
                .map(|j| j["sealed"] == false)
                .unwrap_or(false)
        };
        step("node 0 unsealed", &mut || {
            unseal(&self.http, &self.nodes[0].addr)
        })?;
        step("node 0 active", &mut || {
            self.status_at(0, "sys/health") == Some(200)
        })?;
        // Joined nodes become voters once stable for 1 s (OpenBao's default: 10 s).
        let (status, json) = self.api_at(
            0,
            &self.root_token,
            "POST",
            "sys/storage/raft/autopilot/configuration",
            Some(serde_json::json!({ "server_stabilization_time": "1s" })),
        );
        if status != 204 {
            return Err(format!("autopilot configuration: HTTP {status} {json}"));
        }
        // Nodes 1 and 2 join by `retry_join` (every 2 s) once they have the unseal key; the
        // unseal call waits for the join, or says "not initialized" before it began.
        std::thread::scope(|s| {
            let joins: Vec<_> = (1..3)
                .map(|i| {
                    let (http, addr, unseal) = (&self.http, &self.nodes[i].addr, &unseal);
                    s.spawn(move || {
                        while !unseal(http, addr) {
                            if Instant::now() > deadline {
                                return Err(format!("timed out: node {i} joined and unsealed"));
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        Ok(())
                    })
                })
                .collect();
            joins.into_iter().try_for_each(|j| j.join().unwrap())
        })?;
        step("three voters", &mut || {
            let (status, json) = self.api_at(
                0,
                &self.root_token,
                "GET",
                "sys/storage/raft/configuration",
                None,
            );
            let servers = json["data"]["config"]["servers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            status == 200
                && servers.iter().filter(|s| s["voter"] == true).count() == 3
                && servers.iter().any(|s| s["leader"] == true)
        })?;
        let (status, json) = self.api_at(
            0,
            &self.root_token,
            "POST",
            "sys/mounts/secret",
            Some(serde_json::json!({ "type": "kv", "options": { "version": "2" } })),
        );
        if status != 204 {
            return Err(format!("enabling KV v2: HTTP {status} {json}"));
        }
        // A new KV v2 mount answers "upgrading" for a moment, on standbys a little longer.
        for i in 0..3 {
            step(&format!("KV v2 ready on node {i}"), &mut || {
                let token = self.root_token.clone();
                let path = format!("secret/data/tok-cluster-ready/{i}");
                let body = serde_json::json!({ "data": { "ok": true } });
                self.api_at(i, &token, "POST", &path, Some(body)).0 == 200
                    && self.api_at(i, &token, "GET", &path, None).0 == 200
            })?;
        }
        Ok(())
    }

    pub(super) fn dir_of(&self, i: usize) -> PathBuf {
        self.nodes[i].log.parent().unwrap().to_path_buf()
    }

    /// The HTTP status of an unauthenticated GET on node `i`, if it answers at all.
    pub(super) fn status_at(&self, i: usize, path: &str) -> Option<u16> {
        self.http
            .get(format!("{}/v1/{path}", self.nodes[i].addr))
            .timeout(Duration::from_secs(2))
            .send()
            .ok()
            .map(|r| r.status().as_u16())
    }
}

impl Drop for BaoCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.stop(i);
        }
    }
}
