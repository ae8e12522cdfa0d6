//! Test fixtures: a sealed environment per test, the real `tok` binary, and a real OpenID
//! Provider (node-oidc-provider) over HTTPS on loopback with a CA made for this test run.

pub mod arc;
pub mod bao;
pub mod daemon;
pub mod dot;
pub mod provider;
pub mod xrootd;

pub use provider::{Provider, ProviderOpts};

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `tok` under test: this build's, or the one `TOK_TEST_BIN` names (the packaging check,
/// tests/packaging/check.sh, runs tests against the installed `/usr/bin/tok`).
pub fn tok_bin() -> PathBuf {
    std::env::var_os("TOK_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tok")))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One test's private world: its own runtime, config and data directories, HOME and socket.
/// Nothing of the real user's is visible to the `tok` processes it runs.
pub struct TestEnv {
    pub root: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
    ca_file: PathBuf,
}

/// What a finished command left behind, printed in full when an expectation fails.
pub struct Out {
    pub what: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "command: {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

impl Out {
    fn from_output(what: String, o: Output) -> Self {
        Self {
            what,
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success\n{self}");
        self
    }

    #[track_caller]
    pub fn code(self, want: i32) -> Self {
        assert_eq!(self.code, Some(want), "expected exit code {want}\n{self}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl TestEnv {
    pub fn new() -> Self {
        Self::with_ca(provider::test_ca().ca_pem_path())
    }

    fn with_ca(ca_file: PathBuf) -> Self {
        let root = tempfile::Builder::new()
            .prefix("tok-it")
            .tempdir()
            .expect("tempdir");
        for d in ["home", "run", "config", "data"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            root.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        Self {
            root,
            extra_env: vec![],
            ca_file,
        }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.path().join("run/tok/agent.sock")
    }

    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(self.path().join("run/tok/agent.log")).unwrap_or_default()
    }

    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// A passphrase file `name` holding `passphrase`, 0600 as tok demands of it (issue 21).
    pub fn passphrase_file(&self, name: &str, passphrase: &str) -> PathBuf {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.path().join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .expect("create the passphrase file");
        std::io::Write::write_all(&mut file, format!("{passphrase}\n").as_bytes()).unwrap();
        path
    }

    /// Sets (or replaces) an environment variable for every later `tok` run; an empty value
    /// removes the variable.
    pub fn set_env(&mut self, key: &str, value: impl Into<String>) {
        self.extra_env.retain(|(k, _)| k != key);
        self.extra_env.push((key.to_string(), value.into()));
    }

    /// A `tok` command with a sealed environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.program(tok_bin());
        cmd.args(args);
        cmd
    }

    /// Any program (a shell, xrdcp, …) with the same sealed environment and `tok` on PATH.
    pub fn program(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        let bin_dir = tok_bin().parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let p = self.path();
        cmd.env("PATH", path)
            .env("HOME", p.join("home"))
            .env("XDG_RUNTIME_DIR", p.join("run"))
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_DATA_HOME", p.join("data"))
            .env("TMPDIR", p)
            .env("SSL_CERT_FILE", &self.ca_file)
            .env("TOK_STORE", "memory")
            .env("TOK_LOG", "debug")
            .env("TOK_HTTP_TIMEOUT", "3")
            .env("TOK_TEST_FAST_KDF", "1")
            .stdin(Stdio::null());
        for (k, v) in &self.extra_env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Out {
        let out = self
            .command(args)
            .output()
            .expect("cannot run the tok binary");
        Out::from_output(format!("tok {}", args.join(" ")), out)
    }

    /// Starts `n` copies of `tok ARGS` at once and returns each one's stdout once all succeeded.
    #[track_caller]
    pub fn run_concurrently(&self, n: usize, args: &[&str]) -> Vec<String> {
        let children: Vec<_> = (0..n)
            .map(|_| {
                self.command(args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn tok")
            })
            .collect();
        children
            .into_iter()
            .map(|c| {
                let out = Out::from_output(
                    format!("tok {}", args.join(" ")),
                    c.wait_with_output().unwrap(),
                );
                out.ok().stdout
            })
            .collect()
    }

    /// `tok get …` and its token.
    #[track_caller]
    pub fn token(&self, args: &[&str]) -> String {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        let out = self.run(&all).ok();
        out.stdout.trim().to_string()
    }

    /// Runs `tok login` and answers the device code in the provider's own pages.
    pub fn login(&self, provider: &Provider, args: &[&str], approve: Approval) -> Out {
        self.login_with(args, |code| match approve {
            Approval::Approve => provider.approve(code, false),
            Approval::Deny => provider.approve(code, true),
            Approval::Ignore => {}
        })
    }

    /// Runs `tok login` and hands the user code it prints to `answer`, so that any provider
    /// can approve it (e.g. `env.login_with(args, |code| dot.approve(code))`).
    pub fn login_with(&self, args: &[&str], answer: impl FnOnce(&str)) -> Out {
        let mut child = self.spawn_login(args);
        let (code_rx, stderr_thread) = watch_stderr(&mut child);
        match code_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(code) => answer(&code),
            Err(_) => {
                let _ = child.kill();
            }
        }
        let out = wait_with_timeout(child, Duration::from_secs(60));
        let mut o = Out::from_output(format!("tok login {}", args.join(" ")), out);
        o.stderr = stderr_thread.join().unwrap_or_default();
        o
    }

    pub fn spawn_login(&self, args: &[&str]) -> Child {
        let mut all = vec!["login"];
        all.extend_from_slice(args);
        self.command(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tok login")
    }

    /// Logs in `cms` with WLCG scopes at `provider` and checks it worked.
    pub fn login_cms(&self, provider: &Provider) {
        self.login(
            provider,
            &[
                "cms",
                "--issuer",
                &provider.issuer,
                "--scope",
                "storage.read:/ storage.modify:/store compute.create",
            ],
            Approval::Approve,
        )
        .ok();
    }

    pub fn stop_agent(&self) {
        let _ = self
            .command(&["agent", "stop"])
            .env("TOK_NO_AUTOSTART", "1")
            .output();
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.stop_agent();
    }
}

#[derive(Clone, Copy)]
pub enum Approval {
    Approve,
    Deny,
    Ignore,
}

/// Reads `tok login`'s stderr: the user code goes out on the channel as soon as it shows up,
/// and the thread returns everything it read.
fn watch_stderr(
    child: &mut Child,
) -> (
    std::sync::mpsc::Receiver<String>,
    std::thread::JoinHandle<String>,
) {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        let mut seen = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            seen.push_str(&line);
            if let Some(code) = line.trim().strip_prefix("and enter the code: ") {
                let _ = tx.send(code.to_string());
            }
            line.clear();
        }
        seen
    });
    (rx, handle)
}

pub fn wait_with_timeout(mut child: Child, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut stderr);
    }
    let status = child.wait().expect("wait");
    Output {
        status,
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
    }
}

impl TestEnv {
    /// The pid of this environment's running agent (from `tok agent status`; none is started).
    pub fn agent_pid(&self) -> u32 {
        let out = self
            .command(&["agent", "status"])
            .env("TOK_NO_AUTOSTART", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.split("pid ")
            .nth(1)
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no pid in `tok agent status`: {text}"))
    }
}

/// Waits up to 4 s for `done()` to hold; returns whether it did.
pub fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Decodes a JWT's claims (tests only: no signature check).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims JSON")
}
