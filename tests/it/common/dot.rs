//! A second, independent provider for tests: django-oauth-toolkit (DOT) from `tests/dot`,
//! served by gunicorn over HTTPS on loopback. It differs from node-oidc-provider where real
//! deployments differ: the issuer has a path (`https://127.0.0.1:PORT/o`), the device endpoint
//! is only in the RFC 8414 document, access tokens are opaque, refresh tokens rotate by default
//! and a refresh with fewer scopes narrows the grant for good. `tests/dot/README.md` lists what
//! was verified.

use super::daemon;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::provider::test_ca;

/// The public client every DOT instance is started with (device code + refresh token grants).
pub const DOT_CLIENT: &str = "tok-dot";
/// A confidential client with the same grants; it also authenticates introspection.
pub const DOT_CONF_CLIENT: &str = "tok-dot-conf";
pub const DOT_CONF_SECRET: &str = "dot-secret";
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Clone)]
pub struct DotOpts {
    /// Access (and ID) token lifetime in seconds.
    pub at_ttl: u64,
    /// `ROTATE_REFRESH_TOKEN`: a new refresh token on every refresh (DOT's default: on).
    pub rotate: bool,
    /// `REFRESH_TOKEN_REUSE_PROTECTION`: replaying a rotated refresh token revokes its family.
    pub reuse_protection: bool,
    /// `REFRESH_TOKEN_GRACE_PERIOD_SECONDS`: how long a rotated refresh token still works.
    pub rt_grace: u64,
    /// `REFRESH_TOKEN_EXPIRE_SECONDS`; DOT counts it from the paired access token's expiry.
    pub rt_ttl: u64,
    /// The `interval` of device authorization responses (DOT never answers `slow_down`).
    pub device_interval: u64,
    /// 0: a free port.
    pub port: u16,
}

impl Default for DotOpts {
    fn default() -> Self {
        Self {
            at_ttl: 3600,
            rotate: true,
            reuse_protection: false,
            rt_grace: 0,
            rt_ttl: 30 * 86400,
            device_interval: 1,
            port: 0,
        }
    }
}

pub struct DotProvider {
    child: Option<Child>,
    /// `https://127.0.0.1:PORT/o`, exactly as every DOT document and ID token names it.
    pub issuer: String,
    /// `https://127.0.0.1:PORT`
    pub origin: String,
    pub port: u16,
    log: PathBuf,
    http: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

fn dot_dir() -> PathBuf {
    super::repo().join("tests/dot")
}

fn python() -> PathBuf {
    dot_dir().join(".venv/bin/python")
}

impl DotProvider {
    pub fn start() -> Self {
        Self::start_with(DotOpts::default())
    }

    pub fn start_with(opts: DotOpts) -> Self {
        assert!(
            python().exists(),
            "tests/dot/.venv is missing: run `scripts/test.sh --install-only` (it pip-installs \
             tests/dot/requirements.txt)"
        );
        let ca = test_ca();
        let dir = tempfile::Builder::new()
            .prefix("tok-dot")
            .tempdir()
            .unwrap();
        for d in ["state", "home"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let log = dir.path().join("dot.log");
        let flag = |b: bool| if b { "1" } else { "0" };
        let mut cmd = Command::new(python());
        cmd.arg(dot_dir().join("server.py"))
            .current_dir(dir.path())
            // Sealed: nothing of the developer's Python or gunicorn set-up, and whatever the
            // server might write lands in the temp dir (not the source tree: no bytecode).
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path().join("home"))
            .env("TMPDIR", dir.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env("DOT_STATE_DIR", dir.path().join("state"))
            .env("TLS_CERT", ca.leaf_cert())
            .env("TLS_KEY", ca.leaf_key())
            .env("PORT", opts.port.to_string())
            .env("AT_TTL", opts.at_ttl.to_string())
            .env("ROTATE", flag(opts.rotate))
            .env("REUSE_PROTECTION", flag(opts.reuse_protection))
            .env("RT_GRACE", opts.rt_grace.to_string())
            .env("RT_TTL", opts.rt_ttl.to_string())
            .env("DEVICE_INTERVAL", opts.device_interval.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            // Its own process group: gunicorn forks a worker, and Drop must end both at once.
            .process_group(0);
        let mut child = cmd.spawn().expect("cannot run tests/dot/.venv/bin/python");
        let ready = daemon::ready_line(&mut child, Duration::from_secs(30));
        let http = daemon::trusting_client();
        let mut dot = Self {
            child: Some(child),
            issuer: String::new(),
            origin: String::new(),
            port: 0,
            log,
            http,
            _dir: dir,
        };
        let ready = match ready {
            Some(v) => v,
            None => {
                dot.stop();
                panic!(
                    "django-oauth-toolkit did not start; its log:\n{}",
                    dot.log()
                );
            }
        };
        dot.issuer = ready["issuer"].as_str().unwrap().to_string();
        dot.port = ready["port"].as_u64().unwrap() as u16;
        dot.origin = format!("https://127.0.0.1:{}", dot.port);
        dot
    }

    /// `{issuer}{path}`, e.g. `url("/token/")` (DOT's endpoints end with a slash).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// OpenID Connect discovery: `{issuer}/.well-known/openid-configuration`.
    pub fn oidc_discovery_url(&self) -> String {
        self.url("/.well-known/openid-configuration")
    }

    /// RFC 8414 §3.1 for an issuer with a path: the well-known part goes before the path.
    pub fn rfc8414_url(&self) -> String {
        format!("{}/.well-known/oauth-authorization-server/o", self.origin)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET a JSON document: status and body (`Null` when the body is not JSON).
    pub fn get_json(&self, url: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .get(url)
            .send()
            .unwrap_or_else(|e| panic!("GET {url}: {e}\nDOT log:\n{}", self.log()));
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(serde_json::Value::Null))
    }

    /// POST a form to `{issuer}{path}`, optionally with HTTP Basic client credentials.
    pub fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (u16, serde_json::Value) {
        let url = self.url(path);
        let mut req = self.http.post(&url).form(form);
        if let Some((user, pass)) = basic {
            req = req.basic_auth(user, Some(pass));
        }
        let resp = req
            .send()
            .unwrap_or_else(|e| panic!("POST {url}: {e}\nDOT log:\n{}", self.log()));
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(serde_json::Value::Null))
    }

    /// Answers a device code in DOT's own pages as alice (log in, enter the code, accept), as a
    /// browser would. The code may be grouped or lower case, as a client might show it.
    pub fn approve(&self, user_code: &str) {
        self.answer(user_code, false);
    }

    /// Like `approve`, but presses "Deny".
    pub fn deny(&self, user_code: &str) {
        self.answer(user_code, true);
    }

    fn answer(&self, user_code: &str, deny: bool) {
        let mut cmd = Command::new(python());
        cmd.arg(dot_dir().join("approve.py"))
            .arg(&self.issuer)
            .arg(user_code)
            .env("CA_FILE", test_ca().ca_pem_path())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if deny {
            cmd.arg("--deny");
        }
        let out = cmd.output().expect("run tests/dot/approve.py");
        assert!(
            out.status.success(),
            "approve.py failed: {}\n{}\nDOT log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// RFC 7662 introspection with the confidential client's credentials. DOT knows only
    /// access tokens here: a refresh token always comes back `{"active": false}`.
    pub fn introspect(&self, token: &str) -> serde_json::Value {
        let (status, body) = self.post_form(
            "/introspect/",
            &[("token", token)],
            Some((DOT_CONF_CLIENT, DOT_CONF_SECRET)),
        );
        assert_eq!(
            status,
            200,
            "introspection: {body}\nDOT log:\n{}",
            self.log()
        );
        body
    }

    /// The whole device flow as the public client, without tok: authorization, approval,
    /// one token request. Returns the token response.
    pub fn device_login(&self, scope: &str) -> serde_json::Value {
        let (status, auth) = self.post_form(
            "/device-authorization/",
            &[("client_id", DOT_CLIENT), ("scope", scope)],
            None,
        );
        assert_eq!(status, 200, "device authorization: {auth}");
        self.approve(auth["user_code"].as_str().unwrap());
        let (status, token) = self.post_form(
            "/token/",
            &[
                ("client_id", DOT_CLIENT),
                ("grant_type", DEVICE_GRANT),
                ("device_code", auth["device_code"].as_str().unwrap()),
            ],
            None,
        );
        assert_eq!(
            status,
            200,
            "device token: {token}\nDOT log:\n{}",
            self.log()
        );
        token
    }

    /// A refresh as the public client, optionally asking for fewer scopes.
    pub fn refresh(&self, refresh_token: &str, scope: Option<&str>) -> (u16, serde_json::Value) {
        let mut form = vec![
            ("client_id", DOT_CLIENT),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.post_form("/token/", &form, None)
    }

    /// RFC 7009 revocation as the public client; DOT answers 200 even for unknown tokens.
    pub fn revoke(&self, token: &str) -> u16 {
        self.post_form(
            "/revoke_token/",
            &[("client_id", DOT_CLIENT), ("token", token)],
            None,
        )
        .0
    }

    /// Stops the server (for "provider down" tests); its temp dir stays until Drop.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: plain syscall on the process group this fixture created (process_group(0)
            // made the child its leader), so nothing else can be hit.
            unsafe {
                libc::kill(-(c.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = c.wait();
            // The worker dies a moment after the master was reaped, and it holds the listening
            // socket too: a "provider down" test must not find the port still answering.
            let port = self.port;
            super::wait_until(|| std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        }
    }
}

impl Drop for DotProvider {
    fn drop(&mut self) {
        self.stop();
    }
}
