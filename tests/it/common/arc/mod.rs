//! A real ARC CE for tests: A-REX 6.17 (Debian `nordugrid-arc-arex`) with its REST interface
//! and the fork batch system on a free loopback port, authorising tokens from the test provider;
//! plus what the ARC 6 clients (`arcsub -T arcrest`, `arcstat`, `arcget`) need to talk to it.
//!
//! The traps this deals with (see ../shared/REFERENCE.md, "ARC CE … token-authorised"):
//! - The packaged start scripts listen on every address, split A-REX into two services and spend
//!   minutes on 4096-bit DH parameters: this writes arched's XML itself (tests/arc/arex.xml),
//!   bound to 127.0.0.1, with RFC 7919 ffdhe2048 parameters, as one foreground process.
//! - A-REX fetches the issuer's keys trusting only /etc/grid-security/certificates: it runs in a
//!   private mount namespace (`unshare -m`, root) with this CE's hashed CA directory bind-mounted
//!   there. Nothing outside the temp dir is changed.
//! - ARC 6.17 clients want an X.509 user certificate or proxy even when a token authorises, and
//!   `arcsub` needs a proxy to upload input files: a throw-away user CA (in the same hashed
//!   directory) signs a user certificate, and `arcproxy` makes the proxy, all offline.
//! - Jobs run as `nobody`: the tree is world-traversable and the CE's tmpdir is 1777.
//! - A-REX's default polling (3 min job loop, 60 s information refresh, which is where `arcstat`
//!   reads job states) is cut to seconds. A fork job's end is still noticed only by
//!   `scan-fork-job`, which A-REX restarts every 20 s (measured; the script itself sleeps 10 s
//!   at its end): a job takes its own time plus up to 20 s.
//! - arched starts with a clean environment: the fork batch system hands the CE's whole
//!   environment to every job, and a job must not see the test's SSL_CERT_FILE.

use super::{daemon, Out, Provider, TestEnv};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod jobs;
mod setup;

pub use setup::check_installed;
use setup::*;

/// Where the test CA directory is mounted for A-REX; it must exist (the package creates it).
const SYSTEM_CA_DIR: &str = "/etc/grid-security/certificates";

pub struct ArcCe {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    started: Instant,
    log_shown: std::cell::Cell<bool>,
}

impl ArcCe {
    /// Starts A-REX trusting `provider`'s tokens that carry `audience` (first `aud` element:
    /// 6.17 compares only that one) and `scope` (6.17 has one scope rule for every operation).
    pub fn start(provider: &Provider, audience: &str, scope: &str) -> Self {
        check_installed();
        let dir = tempfile::Builder::new()
            .prefix("tok-arc")
            .tempdir()
            .unwrap();
        let root = dir.path();
        for d in [
            "certs", "host", "user", "control", "session", "tmp", "log", "run", "home",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        // `nobody` walks down to its session directory; the tmpdir is shared by every job.
        mode(root, 0o755);
        mode(&root.join("tmp"), 0o1777);

        // Host credentials: the provider's leaf certificate (127.0.0.1) and key.
        let ca = super::provider::test_ca();
        std::fs::copy(ca.leaf_cert(), root.join("host/hostcert.pem")).unwrap();
        std::fs::copy(ca.leaf_key(), root.join("host/hostkey.pem")).unwrap();
        mode(&root.join("host/hostkey.pem"), 0o600);
        std::fs::copy(ca.ca_pem_path(), root.join("certs/tok-test-ca.pem")).unwrap();
        make_user_credentials(root);
        daemon::run_ok(
            Command::new("openssl")
                .arg("rehash")
                .arg(root.join("certs")),
            "openssl rehash",
        );
        daemon::run_ok(
            Command::new("openssl")
                .args([
                    "genpkey",
                    "-genparam",
                    "-algorithm",
                    "DH",
                    "-pkeyopt",
                    "group:ffdhe2048",
                    "-out",
                ])
                .arg(root.join("dhparam.pem")),
            "openssl genpkey (ffdhe2048)",
        );
        make_proxy(root);

        let mut ce = Self {
            child: None,
            port: 0,
            dir,
            started: Instant::now(),
            log_shown: Default::default(),
        };
        // A free port can be taken between the probe and arched's bind: try a few.
        for attempt in 1..=3 {
            let port = daemon::free_port();
            ce.port = port;
            ce.started = Instant::now();
            ce.write_config(provider, audience, scope);
            match ce.spawn() {
                Ok(()) => return ce,
                Err(why) if attempt < 3 && ce.service_log().contains("Address already in use") => {
                    eprintln!("arched: port {port} was taken, trying another ({why})");
                }
                Err(why) => {
                    ce.log_shown.set(true);
                    panic!("A-REX did not start: {why}\n{}", ce.logs());
                }
            }
        }
        unreachable!()
    }

    fn write_config(&self, provider: &Provider, audience: &str, scope: &str) {
        let root = self.dir.path();
        let fill = |s: String| {
            s.replace("@ROOT@", &root.display().to_string())
                .replace("@PORT@", &self.port.to_string())
                .replace("@ISSUER@", &provider.issuer)
                .replace("@AUDIENCE@", audience)
                .replace("@SCOPE@", scope)
        };
        std::fs::write(
            root.join("arc.conf"),
            fill(daemon::template("tests/arc", "arc.conf")),
        )
        .unwrap();
        std::fs::write(
            root.join("arex.xml"),
            fill(daemon::template("tests/arc", "arex.xml")),
        )
        .unwrap();
        // A-REX reads the configuration with every default filled in, as the start scripts
        // make it.
        daemon::run_ok(
            Command::new("/usr/lib/arc/arcconfig-parser")
                .arg("--config")
                .arg(root.join("arc.conf"))
                .arg("--runconfig")
                .arg(root.join("arc.runtime.conf"))
                .arg("--save"),
            "arcconfig-parser",
        );
    }

    fn spawn(&mut self) -> Result<(), String> {
        let root = self.dir.path().to_path_buf();
        let out = std::fs::File::create(root.join("log/arched.out")).unwrap();
        // The shell runs inside the new mount namespace (private propagation: the host never
        // sees the bind mount) and becomes arched, so the child's pid is arched's. Its own
        // process group lets Drop stop arched and every helper and job it started.
        let script = r#"mount --bind "$1" "$2" && exec /usr/sbin/arched -f -c "$3""#;
        let mut child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(root.join("certs"))
            .arg(SYSTEM_CA_DIR)
            .arg(root.join("arex.xml"))
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", root.join("home"))
            .env("LANG", "C.UTF-8")
            // What the packaged start script exports for A-REX.
            .env("TMPDIR", root.join("tmp"))
            .env("HOSTNAME", "127.0.0.1")
            .env("X509_USER_CERT", root.join("host/hostcert.pem"))
            .env("X509_USER_KEY", root.join("host/hostkey.pem"))
            .env("X509_CERT_DIR", root.join("certs"))
            .current_dir(root.join("run"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .map_err(|e| format!("cannot run unshare/arched: {e}"))?;
        // Ready when it listens and the first information-system run is done (before that,
        // arcsub finds no information and submits nothing).
        let ready = daemon::wait_ready(&mut child, Duration::from_secs(30), || {
            daemon::port_open(self.port) && root.join("control/info.xml").exists()
        });
        match ready {
            Ok(()) => {}
            Err(daemon::NotReady::Exited(status)) => {
                return Err(format!("arched exited early ({status})"))
            }
            Err(daemon::NotReady::TimedOut) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("A-REX was not ready within 30 s".into());
            }
        }
        self.child = Some(child);
        Ok(())
    }

    /// The CE's endpoint, as `arcsub -C`, `arcinfo` and job URLs use it.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/arex", self.port)
    }

    /// The hashed CA directory: the test CA (the CE's host certificate) and the user CA.
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    /// What ARC 6.17 clients need besides a token: the user certificate and proxy, and the CA
    /// directory to trust the CE with.
    pub fn client_env(&self) -> Vec<(String, String)> {
        let user = self.dir.path().join("user");
        let s = |p: PathBuf| p.display().to_string();
        vec![
            ("X509_USER_CERT".into(), s(user.join("usercert.pem"))),
            ("X509_USER_KEY".into(), s(user.join("userkey.pem"))),
            ("X509_USER_PROXY".into(), s(user.join("proxy.pem"))),
            ("X509_CERT_DIR".into(), s(self.cert_dir())),
        ]
    }

    /// Makes `env`'s commands ARC clients of this CE: [`client_env`](Self::client_env), and a
    /// client configuration in `env`'s own (temporary) HOME, where the clients also keep their
    /// job list; the real user's `~/.arc` is never read.
    pub fn configure_client(&self, env: &mut TestEnv) {
        for (k, v) in self.client_env() {
            env.set_env(&k, v);
        }
        let arc = env.path().join("home/.arc");
        std::fs::create_dir_all(&arc).unwrap();
        std::fs::write(
            arc.join("client.conf"),
            "[common]\n# tok's integration tests: a CE on loopback answers at once.\ntimeout = 30\n",
        )
        .unwrap();
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // A-REX takes 5 s to stop on SIGTERM, and nothing of this CE outlives the test: kill
        // it, and the helpers and jobs in its process group, at once.
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).output();
        let _ = child.kill();
        let _ = child.wait();
        // A job that left the group (or a helper that outlived arched) still works in this
        // CE's tree: find those processes by their working directory or command line.
        let root = self.dir.path().display().to_string();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(pid) = name.parse::<u32>() else {
                continue;
            };
            if pid == std::process::id() {
                continue;
            }
            let cwd = std::fs::read_link(entry.path().join("cwd"))
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let cmdline = std::fs::read(entry.path().join("cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            if cwd.starts_with(&root) || cmdline.contains(&root) {
                let _ = Command::new("kill").args(["-KILL", &name]).output();
            }
        }
    }
}

impl Drop for ArcCe {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() && !self.log_shown.get() {
            eprintln!("{}", self.logs());
        }
    }
}
