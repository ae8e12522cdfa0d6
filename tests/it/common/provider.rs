//! The real OpenID Provider for tests: node-oidc-provider from `tests/provider`, started on a
//! free loopback port over HTTPS with a CA generated once per test run.

use super::daemon;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    pub fn ca_pem_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
    /// The leaf certificate (127.0.0.1/localhost) signed by the test CA; other test servers
    /// (xrootd) reuse it.
    pub fn leaf_cert(&self) -> PathBuf {
        self.dir.path().join("leaf.pem")
    }
    pub fn leaf_key(&self) -> PathBuf {
        self.dir.path().join("leaf.key")
    }
}

/// A host name the leaf certificate also covers, for tests that make tok resolve a name (through
/// a private `/etc/hosts`; see static_binary.rs) rather than connect to an address.
pub const TEST_HOST_NAME: &str = "tok-provider.test";

/// A CA and a leaf certificate for 127.0.0.1/localhost/[`TEST_HOST_NAME`], made once per test
/// process.
pub fn test_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        // Under cargo's per-target scratch directory: statics are never dropped, so a
        // tempdir in /tmp would outlive every run.
        let dir = tempfile::Builder::new()
            .prefix("tok-ca")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tok test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let mut leaf_params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            TEST_HOST_NAME.to_string(),
        ])
        .unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("leaf.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path().join("leaf.key"), leaf_key.serialize_pem()).unwrap();
        // Other uids (the peer-check test) must be able to read the CA.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        TestCa { dir }
    })
}

#[derive(Clone)]
pub struct ProviderOpts {
    pub at_ttl: u64,
    pub rotate: bool,
    pub device_ttl: u64,
    /// Offer RFC 8693 token exchange (offline delegation).
    pub token_exchange: bool,
}

impl Default for ProviderOpts {
    fn default() -> Self {
        Self {
            at_ttl: 3600,
            rotate: false,
            device_ttl: 600,
            token_exchange: true,
        }
    }
}

pub struct Provider {
    child: Option<Child>,
    pub issuer: String,
    log: PathBuf,
    http: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

fn provider_dir() -> PathBuf {
    super::repo().join("tests/provider")
}

impl Provider {
    pub fn start() -> Self {
        Self::start_with(ProviderOpts::default())
    }

    pub fn start_with(opts: ProviderOpts) -> Self {
        let ca = test_ca();
        assert!(
            provider_dir().join("node_modules/oidc-provider").is_dir(),
            "tests/provider/node_modules is missing: run `npm ci` in tests/provider (scripts/test.sh does)"
        );
        let dir = tempfile::Builder::new().prefix("tok-op").tempdir().unwrap();
        let log = dir.path().join("provider.log");
        // Generous: on a loaded 2-core machine node takes seconds to load oidc-provider; once it
        // took over 90 s while a fuzzing build filled both cores, so a start that times out is
        // tried once more (a fresh process) before the test fails.
        let mut earlier: Option<String> = None;
        let (child, ready) = loop {
            let mut child = Command::new("node")
                .arg(provider_dir().join("server.js"))
                .env("TLS_CERT", ca.leaf_cert())
                .env("TLS_KEY", ca.leaf_key())
                .env("PORT", "0")
                .env("AT_TTL", opts.at_ttl.to_string())
                .env("ROTATE", if opts.rotate { "1" } else { "0" })
                .env("DEVICE_TTL", opts.device_ttl.to_string())
                .env("DEVICE_INTERVAL", "1")
                .env(
                    "TOKEN_EXCHANGE",
                    if opts.token_exchange { "1" } else { "0" },
                )
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("cannot run node (is Node.js installed?)");
            if let Some(ready) = daemon::ready_line(&mut child, Duration::from_secs(90)) {
                break (child, ready);
            }
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(earlier) = earlier {
                panic!("the test provider did not start, twice; its logs:\n{earlier}\n---\n{text}");
            }
            eprintln!(
                "the test provider did not start in 90 s; trying once more. Its log:\n{text}"
            );
            earlier = Some(text);
        };
        let http = daemon::trusting_client();
        Self {
            child: Some(child),
            issuer: ready["issuer"].as_str().unwrap().to_string(),
            log,
            http,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        self.http
            .get(format!("{}{path}", self.issuer))
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub fn post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        self.http
            .post(format!("{}{path}", self.issuer))
            .json(&body)
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    pub fn stats(&self) -> serde_json::Value {
        self.get("/test/stats")
    }

    /// How many refresh-token grants the token endpoint has seen.
    pub fn refreshes(&self) -> u64 {
        self.stats()["by_grant"]["refresh_token"]
            .as_u64()
            .unwrap_or(0)
    }

    pub fn fault(&self, mode: &str, delay_ms: u64) {
        self.post(
            "/test/fault",
            serde_json::json!({"mode": mode, "delay_ms": delay_ms}),
        );
    }

    pub fn set_rotate(&self, rotate: bool) {
        self.post("/test/config", serde_json::json!({ "rotate": rotate }));
    }

    /// Lifetime the provider gives delegated refresh tokens.
    pub fn set_delegation_ttl(&self, secs: u64) {
        self.post(
            "/test/config",
            serde_json::json!({ "delegation_ttl": secs }),
        );
    }

    pub fn live_refresh_tokens(&self) -> Vec<serde_json::Value> {
        self.get("/test/refresh_tokens?values=1")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Drives the provider's device pages as a browser would.
    pub fn approve(&self, user_code: &str, deny: bool) {
        let mut cmd = Command::new("node");
        cmd.arg(provider_dir().join("approve.js"))
            .arg(&self.issuer)
            .arg(user_code)
            .env("NODE_EXTRA_CA_CERTS", test_ca().ca_pem_path());
        if deny {
            cmd.arg("--deny");
        }
        let out = cmd.output().expect("run approve.js");
        assert!(
            out.status.success(),
            "approve.js failed: {}\n{}\nprovider log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// Stops the provider (for "provider down" tests).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}
