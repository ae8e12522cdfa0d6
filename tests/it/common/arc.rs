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

/// Where the test CA directory is mounted for A-REX; it must exist (the package creates it).
const SYSTEM_CA_DIR: &str = "/etc/grid-security/certificates";

pub struct ArcCe {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    started: Instant,
    log_shown: std::cell::Cell<bool>,
}

fn template(name: &str) -> String {
    let p = super::repo().join("tests/arc").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
    })
}

fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(u32::MAX)
}

/// Fails (never skips) when the CE or the clients are not installed: CI installs them.
pub fn check_installed() {
    let mut missing = vec![];
    for cmd in [
        "arched", "arcsub", "arcstat", "arcget", "arcinfo", "arcproxy", "unshare", "mount",
        "openssl", "strip",
    ] {
        if which(cmd).is_none() && !Path::new("/usr/sbin").join(cmd).is_file() {
            missing.push(format!("command `{cmd}`"));
        }
    }
    for f in [
        "/usr/lib/arc/libarex.so",
        "/usr/lib/arc/libarcshcotokens.so",
        "/usr/lib/arc/libaccARCREST.so",
        "/usr/lib/arc/arcconfig-parser",
        "/usr/share/arc/submit-fork-job",
    ] {
        if !Path::new(f).exists() {
            missing.push(f.to_string());
        }
    }
    if !Path::new(SYSTEM_CA_DIR).is_dir() {
        missing.push(format!("{SYSTEM_CA_DIR} (made by nordugrid-arc-arex)"));
    }
    assert!(
        missing.is_empty(),
        "the ARC CE tests need nordugrid-arc-arex, nordugrid-arc-client, \
         nordugrid-arc-plugins-arcrest, util-linux, openssl and binutils; missing: {}.\n\
         Install them with `bash scripts/test.sh --install-only` (as root or with sudo).",
        missing.join(", ")
    );
    assert_eq!(
        effective_uid(),
        0,
        "the ARC CE tests run A-REX in a private mount namespace and must run as root"
    );
}

#[track_caller]
fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The last `n` lines of a file, for failure messages, without the TCP/TLS chatter that A-REX
/// logs for every connection at VERBOSE.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("[Arc.MCC.TLS") && !l.contains("[Arc.MCC.TCP]"))
        .collect();
    let skip = lines.len().saturating_sub(n);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("[… {skip} earlier lines]\n"));
    }
    for l in &lines[skip..] {
        out.push_str(l);
        out.push('\n');
    }
    out
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
        run_ok(
            Command::new("openssl")
                .arg("rehash")
                .arg(root.join("certs")),
            "openssl rehash",
        );
        run_ok(
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
        std::fs::write(root.join("arc.conf"), fill(template("arc.conf"))).unwrap();
        std::fs::write(root.join("arex.xml"), fill(template("arex.xml"))).unwrap();
        // A-REX reads the configuration with every default filled in, as the start scripts
        // make it.
        run_ok(
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

    fn control(&self) -> PathBuf {
        self.dir.path().join("control")
    }

    /// A-REX's own state of a job (`ACCEPTED`, `INLRMS`, `FINISHED`, …), from its control
    /// directory, with no client and no token involved.
    pub fn job_state(&self, id: &str) -> Option<String> {
        ["accepting", "processing", "restarting", "finished"]
            .iter()
            .find_map(|d| {
                std::fs::read_to_string(self.control().join(d).join(format!("job.{id}.status")))
                    .ok()
            })
            .map(|s| s.trim().to_string())
    }

    /// The job's exit code as the CE recorded it (`exitcode=` in its diag file).
    pub fn job_exit_code(&self, id: &str) -> Option<i32> {
        std::fs::read_to_string(self.control().join(format!("job.{id}.diag")))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("exitcode=")?.trim().parse().ok())
    }

    /// Why A-REX failed the job, if it did.
    pub fn job_failure(&self, id: &str) -> Option<String> {
        std::fs::read_to_string(self.control().join(format!("job.{id}.failed"))).ok()
    }

    /// How many jobs the CE has ever accepted.
    pub fn job_count(&self) -> usize {
        std::fs::read_dir(self.control())
            .map(|rd| {
                rd.flatten()
                    .filter(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.starts_with("job.") && n.ends_with(".description")
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// Waits until A-REX has finished with job `id` (state FINISHED, whether it succeeded or
    /// not); panics with the logs when it takes longer than `timeout`.
    #[track_caller]
    pub fn wait_finished(&self, id: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.job_state(id).as_deref() == Some("FINISHED") {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        self.log_shown.set(true);
        panic!(
            "job {id} did not finish within {timeout:?} (state {:?})\n{}",
            self.job_state(id),
            self.logs()
        );
    }

    /// arched's own log (the HTTP/TLS/token side).
    pub fn service_log(&self) -> String {
        let log = self.dir.path().join("log");
        std::fs::read_to_string(log.join("arched.out")).unwrap_or_default()
            + &std::fs::read_to_string(log.join("arched.log")).unwrap_or_default()
    }

    /// The tails of every log A-REX writes, and each job's own record (its job script, the
    /// batch system's output and its state changes).
    pub fn logs(&self) -> String {
        let root = self.dir.path();
        let mut files: Vec<PathBuf> = [
            "log/arched.out",
            "log/arched.log",
            "log/infoprovider.log",
            "log/job.helper.errors",
        ]
        .iter()
        .map(|f| root.join(f))
        .collect();
        if let Ok(rd) = std::fs::read_dir(self.control()) {
            let mut jobs: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    n.starts_with("job.") && (n.ends_with(".errors") || n.ends_with(".failed"))
                })
                .collect();
            jobs.sort();
            files.extend(jobs);
        }
        let mut out = format!(
            "=== A-REX at {} (started {:?} ago), files under {} ===\n",
            self.url(),
            self.started.elapsed(),
            root.display()
        );
        for f in files {
            if f.exists() {
                out.push_str(&format!(
                    "--- {} ---\n{}",
                    f.strip_prefix(root).unwrap_or(&f).display(),
                    tail(&f, 120)
                ));
            }
        }
        out
    }

    /// Panics with `msg`, the command's output and the CE's logs.
    #[track_caller]
    pub fn fail(&self, msg: &str, out: &Out) -> ! {
        self.log_shown.set(true);
        panic!("{msg}\n{out}\n{}", self.logs())
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

/// A throw-away user CA in the CE's CA directory and a user certificate it signs (RSA: what
/// arcproxy signs proxies with).
fn make_user_credentials(root: &Path) {
    let user = root.join("user");
    run_ok(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            ])
            .args(["-subj", "/O=tok test/CN=tok test user CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(user.join("ca.key"))
            .arg("-out")
            .arg(user.join("ca.pem")),
        "openssl req (user CA)",
    );
    run_ok(
        Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes"])
            .args(["-subj", "/O=tok test/CN=tok test user"])
            .arg("-keyout")
            .arg(user.join("userkey.pem"))
            .arg("-out")
            .arg(user.join("user.csr")),
        "openssl req (user certificate)",
    );
    std::fs::write(
        user.join("user.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "3650", "-CAcreateserial"])
            .arg("-in")
            .arg(user.join("user.csr"))
            .arg("-CA")
            .arg(user.join("ca.pem"))
            .arg("-CAkey")
            .arg(user.join("ca.key"))
            .arg("-extfile")
            .arg(user.join("user.ext"))
            .arg("-out")
            .arg(user.join("usercert.pem")),
        "openssl x509 (sign the user certificate)",
    );
    mode(&user.join("userkey.pem"), 0o600);
    std::fs::copy(user.join("ca.pem"), root.join("certs/tok-test-user-ca.pem")).unwrap();
}

/// An RFC 3820 proxy of the user certificate, made by arcproxy offline (no VOMS).
fn make_proxy(root: &Path) {
    let user = root.join("user");
    run_ok(
        Command::new("arcproxy")
            .arg("-C")
            .arg(user.join("usercert.pem"))
            .arg("-K")
            .arg(user.join("userkey.pem"))
            .arg("-T")
            .arg(root.join("certs"))
            .arg("-P")
            .arg(user.join("proxy.pem"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // arcproxy writes a default ~/.arc/client.conf when there is none.
            .env("HOME", root.join("home"))
            .stdin(Stdio::null()),
        "arcproxy",
    );
}
