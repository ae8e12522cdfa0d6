//! A real grid storage server for tests: XRootD (Debian `xrootd-server`) with the SciTokens
//! authorization plugin, trusting the test provider as its token issuer, on a free loopback port
//! over TLS, and on a second one over HTTPS (XrdHttp, for gfal2 and davix) under the same
//! authorization; and a sealed `xrdcp` to talk to it.
//!
//! The traps this deals with (see ../shared/REFERENCE.md, "XRootD + SciTokens"):
//! - xrootd refuses to run as root: it runs as the `xrootd` user (`setpriv`), which owns the
//!   server's temp dir.
//! - xrootd 5.5 always binds the wildcard address: an LD_PRELOAD shim (tests/xrootd/shim.c,
//!   built here with `cc`) rewrites wildcard binds to 127.0.0.1, plus `-I v4`.
//! - scitokens-cpp fetches the issuer's keys with libcurl's built-in CA bundle and ignores
//!   SSL_CERT_FILE: the same shim sets CURLOPT_CAINFO to the test CA on every libcurl transfer
//!   (`TOK_TEST_CURL_CAINFO`). No mount namespace, no CAP_SYS_ADMIN, no system files touched.
//! - The key cache (`$XDG_CACHE_HOME/scitokens/`) is fresh per server: an unknown key id is not
//!   refetched for 10 minutes.
//! - xrdcp trusts the server only through a hashed CA directory in `X509_CERT_DIR`.
//! - A stray `/tmp/bt_u$UID` or `BEARER_TOKEN` must not leak in: xrdcp runs in a sealed env.
//! - HTTPS clients: gfal2 trusts the server through the same hashed dir in `X509_CERT_DIR` (or
//!   OpenSSL's default, `SSL_CERT_FILE`); davix ignores `X509_CERT_DIR` and needs `--capath DIR`
//!   (or `SSL_CERT_FILE`, which a sealed `TestEnv` points at the test CA: pass `--capath` anyway,
//!   as a user must). The `gfal-*` scripts run the first python on PATH that can `import gfal2`,
//!   which is not pyenv's: [`XrootdServer::client_env`] sets `GFAL_PYTHONBIN=/usr/bin/python3`.
//! - Debian's gfal2 config (`/etc/gfal2.d/http_plugin.conf`) has `RETRIEVE_BEARER_TOKEN=true`:
//!   a gfal2 client with no token first asks the storage for one (`POST` with `Content-Type:
//!   application/macaroon-request`); XRootD has no macaroon issuer here and answers 501, so gfal2
//!   goes on without a token and is refused (403). The tests keep Debian's setting (it is what
//!   users run), so their "no token" cases go through that request too; it costs one round trip.

use super::{daemon, wait_with_timeout, Out, Provider};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod setup;

use setup::*;
pub use setup::{check_http_clients_installed, check_installed};

/// The bytes of `/data/f` on the server.
pub const DATA_F: &[u8] = b"tok xrootd test payload: /data/f\n\x00\x01\x02\xff binary tail\n";
/// The bytes of `/other/g` on the server.
pub const OTHER_G: &[u8] = b"other tree\n";
/// The bytes of `/store/existing` on the server (for delete tests).
pub const STORE_EXISTING: &[u8] = b"delete me\n";

const SERVER_USER: &str = "xrootd";
/// The interpreter that has Debian's gfal2 bindings (pyenv's `python3`, first on PATH here,
/// has not, and the `gfal-*` scripts would otherwise fall back to a missing `/usr/bin/python`).
const GFAL_PYTHON: &str = "/usr/bin/python3";

pub struct XrootdServer {
    child: Option<Child>,
    pub port: u16,
    /// XrdHttp's port (HTTPS).
    pub https_port: u16,
    dir: tempfile::TempDir,
    started: Instant,
    log_shown: std::cell::Cell<bool>,
}

impl XrootdServer {
    /// Starts xrootd trusting `provider`'s issuer for tokens with audience `audience`; scope
    /// paths are relative to `base_path` (use "/" so `storage.read:/data` means `/data`).
    /// The exported tree holds `/data/f` ([`DATA_F`]), `/other/g` ([`OTHER_G`]) and
    /// `/store/existing` ([`STORE_EXISTING`]); `/store` is where tokens with
    /// `storage.create`/`storage.modify` may write.
    pub fn start(provider: &Provider, audience: &str, base_path: &str) -> Self {
        check_installed();
        let (uid, gid) = uid_gid(SERVER_USER).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("tok-xrootd")
            .tempdir()
            .unwrap();
        let root = dir.path();
        for d in [
            "export/data",
            "export/other",
            "export/store",
            "admin",
            "tls/certs",
            "cache",
            "home",
            "client/run",
            "client/home",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("export/data/f"), DATA_F).unwrap();
        std::fs::write(root.join("export/other/g"), OTHER_G).unwrap();
        std::fs::write(root.join("export/store/existing"), STORE_EXISTING).unwrap();

        // TLS: the provider's leaf certificate (127.0.0.1) and the test CA as a hashed dir,
        // which is also the client's X509_CERT_DIR.
        let ca = super::provider::test_ca();
        std::fs::copy(ca.leaf_cert(), root.join("tls/cert.pem")).unwrap();
        std::fs::copy(ca.leaf_key(), root.join("tls/key.pem")).unwrap();
        std::fs::set_permissions(root.join("tls/key.pem"), PermissionsExt::from_mode(0o600))
            .unwrap();
        std::fs::copy(ca.ca_pem_path(), root.join("tls/certs/tok-test-ca.pem")).unwrap();
        daemon::run_ok(
            Command::new("openssl")
                .arg("rehash")
                .arg(root.join("tls/certs")),
            "openssl rehash",
        );

        // The shim, compiled for this server.
        let shim = root.join("shim.so");
        daemon::run_ok(
            Command::new("cc")
                .args(["-shared", "-fPIC", "-O2", "-o"])
                .arg(&shim)
                .arg(super::repo().join("tests/xrootd/shim.c"))
                .arg("-ldl"),
            "cc tests/xrootd/shim.c",
        );

        let fill = |s: String| {
            s.replace("@ROOT@", &root.display().to_string())
                .replace("@ISSUER@", &provider.issuer)
                .replace("@AUDIENCE@", audience)
                .replace("@BASE_PATH@", base_path)
        };
        std::fs::write(
            root.join("scitokens.cfg"),
            fill(daemon::template("tests/xrootd", "scitokens.cfg")),
        )
        .unwrap();
        std::fs::write(root.join("authdb"), "").unwrap();
        // The HTTPS port is only known per attempt (see below): filled in by `spawn`.
        std::fs::write(
            root.join("xrootd.cfg.in"),
            fill(daemon::template("tests/xrootd", "xrootd.cfg")),
        )
        .unwrap();

        // The server user owns its tree (key, cache, admin dir); the client dirs stay root's.
        chown_tree(root, uid, gid);
        chown_tree(&root.join("client"), 0, 0);
        std::fs::set_permissions(root, PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::set_permissions(root.join("client/run"), PermissionsExt::from_mode(0o700))
            .unwrap();

        let mut server = Self {
            child: None,
            port: 0,
            https_port: 0,
            dir,
            started: Instant::now(),
            log_shown: Default::default(),
        };
        // A free port can be taken between the probe and xrootd's bind: try a few.
        for attempt in 1..=3 {
            let (port, https_port) = daemon::two_free_ports();
            server.port = port;
            server.https_port = https_port;
            server.started = Instant::now();
            match server.spawn(port) {
                Ok(()) => return server,
                Err(why) if attempt < 3 && port_in_use(&server.log()) => {
                    eprintln!(
                        "xrootd: port {port} or {https_port} was taken, trying others ({why})"
                    );
                    continue;
                }
                Err(why) => panic!("xrootd did not start: {why}\n{}", server.log()),
            }
        }
        unreachable!()
    }

    fn spawn(&mut self, port: u16) -> Result<(), String> {
        let root = self.dir.path().to_path_buf();
        let cfg = std::fs::read_to_string(root.join("xrootd.cfg.in")).unwrap();
        std::fs::write(
            root.join("xrootd.cfg"),
            cfg.replace("@HTTPS_PORT@", &self.https_port.to_string()),
        )
        .unwrap();
        let log = std::fs::File::create(root.join("xrootd.log")).unwrap();
        let mut child = Command::new("setpriv")
            .args([
                &format!("--reuid={SERVER_USER}"),
                &format!("--regid={SERVER_USER}"),
                "--clear-groups",
                "--",
                "xrootd",
                "-I",
                "v4",
                "-p",
                &port.to_string(),
                "-n",
                "tok-test",
                "-c",
            ])
            .arg(root.join("xrootd.cfg"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", root.join("home"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("TMPDIR", root.join("admin"))
            .env("LD_PRELOAD", root.join("shim.so"))
            .env(
                "TOK_TEST_CURL_CAINFO",
                root.join("tls/certs/tok-test-ca.pem"),
            )
            .current_dir(root.join("home"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run setpriv/xrootd: {e}"))?;
        let ready = daemon::wait_ready(&mut child, Duration::from_secs(20), || {
            daemon::port_open(port)
                && daemon::port_open(self.https_port)
                && self.log().contains("initialization completed")
        });
        match ready {
            Ok(()) => {}
            Err(daemon::NotReady::Exited(status)) => {
                return Err(format!("xrootd exited early ({status})"))
            }
            Err(daemon::NotReady::TimedOut) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("xrootd did not listen within 20 s".into());
            }
        }
        self.child = Some(child);
        Ok(())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("xrootd.log")).unwrap_or_default()
    }

    /// `root://127.0.0.1:PORT//path` (xrootd wants the double slash).
    pub fn url(&self, path: &str) -> String {
        format!("root://127.0.0.1:{}/{}", self.port, path)
    }

    /// `https://127.0.0.1:HTTPS_PORT/path` on XrdHttp (`path` starts with `/`).
    pub fn https_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{}", self.https_port, path)
    }

    /// `davs://127.0.0.1:HTTPS_PORT/path`: the same as [`Self::https_url`], in the spelling
    /// gfal users write for WebDAV storage.
    pub fn davs_url(&self, path: &str) -> String {
        format!("davs://127.0.0.1:{}{}", self.https_port, path)
    }

    /// The hashed CA directory clients need to trust the server: `X509_CERT_DIR` for xrdcp and
    /// gfal2, `--capath` for davix.
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("tls/certs")
    }

    /// A file in the server's exported tree, read directly (to check what an upload wrote).
    pub fn local_path(&self, path: &str) -> PathBuf {
        self.dir
            .path()
            .join("export")
            .join(path.trim_start_matches('/'))
    }

    /// Environment for a client (xrdcp, gfal-*, davix-*) so it trusts the server, fails fast
    /// and finds no token but the one it is given.
    pub fn client_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "X509_CERT_DIR".into(),
                self.cert_dir().display().to_string(),
            ),
            ("XRD_CONNECTIONRETRY".into(), "1".into()),
            ("XRD_REQUESTTIMEOUT".into(), "30".into()),
            ("GFAL_PYTHONBIN".into(), GFAL_PYTHON.into()),
        ]
    }

    /// `xrdcp -f URL dest` in a sealed environment: no BEARER_TOKEN, a private empty
    /// XDG_RUNTIME_DIR (so no stray `bt_u$UID`), plus `env` (e.g. BEARER_TOKEN_FILE).
    pub fn xrdcp(&self, path: &str, dest: &Path, env: &[(&str, &str)]) -> Out {
        let client = self.dir.path().join("client");
        let mut cmd = Command::new("xrdcp");
        cmd.args(["-f", "-N"])
            .arg(self.url(path))
            .arg(dest)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", client.join("home"))
            .env("XDG_RUNTIME_DIR", client.join("run"))
            .env("TMPDIR", &client)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in self.client_env() {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let what = format!(
            "{} xrdcp -f -N {} {}",
            env.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            self.url(path),
            dest.display()
        );
        let child = cmd.spawn().expect("run xrdcp");
        let out = wait_with_timeout(child, Duration::from_secs(60));
        Out {
            what,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with `msg`, the command's output and the server log.
    #[track_caller]
    pub fn fail(&self, msg: &str, out: &Out) -> ! {
        self.log_shown.set(true);
        panic!(
            "{msg}\n{out}\n--- xrootd log (since {:?} ago) ---\n{}",
            self.started.elapsed(),
            self.log()
        )
    }
}

impl Drop for XrootdServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() && !self.log_shown.get() {
            eprintln!("--- xrootd log ---\n{}", self.log());
        }
    }
}
