//! What a test does with a running cluster: its nodes' addresses, the leader, stopping a node,
//! the HTTP API as root or as a user, and the KV entries tok wrote.

use super::*;

impl BaoCluster {
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
    pub(super) fn ok(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
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
