//! The shell-side integration in `shell/`: the `tok init` snippets, the HTCondor helpers and the
//! ARC wrapper. They are scripts around `tok`, so they run here against a fake `tok` (a small
//! shell script first in PATH that prints a fixed token and records its arguments) and fake
//! `arcsub` / `condor_submit` commands that record what they were given. No agent, no provider.
//! The helpers are here; the tests are in one module per topic.

mod arc;
mod htcondor;
mod per_job;
mod snippets;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Contains every character WLCG tokens are made of that a shell could mangle.
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0+/=.c2ln-_x";

const FAKE_TOK: &str = r#"#!/bin/sh
# Fake tok: records its arguments (one per line, then a separator) and answers like tok would.
# One write per record: two fake toks at once (the snippet's background `tok agent start`
# beside `tok env`) must not interleave their lines (issue 11: a flaky zsh test).
record=$(printf '%s\n' "$@"; printf '%s' '--END--')
printf '%s\n' "$record" >> "$FAKE_DIR/tok.args"
[ "${FAKE_TOK_EXIT:-0}" = 0 ] || { echo "tok: fake failure" >&2; exit "$FAKE_TOK_EXIT"; }
case "$1" in
get)
    json=0
    for a in "$@"; do
        case "$a" in json|--format=json) json=1 ;; esac
    done
    if [ "$json" = 1 ]; then
        exp=$(( $(date +%s) + ${FAKE_TOK_LIFETIME:-36000} ))
        printf '{\n  "access_token": "%s",\n  "token_type": "Bearer",\n  "expires_at": %s,\n  "scope": "x"\n}\n' "$FAKE_TOKEN" "$exp"
    else
        printf '%s\n' "$FAKE_TOKEN"
    fi ;;
completions)
    case "$2" in
        bash) cat "$FAKE_REPO/completions/tok.bash" ;;
        zsh) cat "$FAKE_REPO/completions/_tok" ;;
        fish) cat "$FAKE_REPO/completions/tok.fish" ;;
    esac ;;
delegate)
    # Writes a stand-in credential at --out; $FAKE_ROTATION is what the summary's last line says,
    # and the $FAKE_DELEGATE_FAIL_AT-th delegation fails as a provider outage would.
    out="" prev=""
    for a in "$@"; do [ "$prev" = --out ] && out=$a; prev=$a; done
    n=$(grep -c '^delegate$' "$FAKE_DIR/tok.args")
    if [ "$n" = "${FAKE_DELEGATE_FAIL_AT:-0}" ]; then echo "tok: fake provider outage" >&2; exit 4; fi
    (umask 077; printf '{"fake_credential": %s}\n' "$n" > "$out")
    printf 'tok delegate: wrote the job credential %s (0600)\n  rotation:    %s — fake\n' "$out" "${FAKE_ROTATION:-no}" >&2 ;;
env)
    case "$3" in
        fish) printf 'set -gx BEARER_TOKEN_FILE %s;\nset -e BEARER_TOKEN;\n' "$FAKE_DIR/bt" ;;
        *) printf "export BEARER_TOKEN_FILE='%s';\nunset BEARER_TOKEN;\n" "$FAKE_DIR/bt" ;;
    esac ;;
esac
exit 0
"#;

/// A fake client: records $BEARER_TOKEN (or "<unset>"), its arguments and its working directory.
fn fake_client(name: &str) -> String {
    format!(
        r#"#!/bin/sh
if [ -n "${{BEARER_TOKEN+x}}" ]; then printf '%s' "$BEARER_TOKEN"; else printf '<unset>'; fi > "$FAKE_DIR/{name}.token"
printf '%s\n' "$@" > "$FAKE_DIR/{name}.args"
pwd -P > "$FAKE_DIR/{name}.cwd"
exit "${{FAKE_EXIT:-0}}"
"#
    )
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script(rel: &str) -> PathBuf {
    repo().join(rel)
}

fn write_exec(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let fake = Fake { dir };
        fs::create_dir(fake.bin()).unwrap();
        fs::create_dir(fake.path().join("home")).unwrap();
        write_exec(&fake.bin().join("tok"), FAKE_TOK);
        fake
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    /// Holds the fake `tok` only.
    fn bin(&self) -> PathBuf {
        self.path().join("bin")
    }
    /// Makes a directory holding one fake client command.
    fn client_dir(&self, dir: &str, name: &str) -> PathBuf {
        let d = self.path().join(dir);
        fs::create_dir_all(&d).unwrap();
        write_exec(&d.join(name), &fake_client(name));
        d
    }
    fn path_var(&self, dirs: &[&Path]) -> String {
        let mut parts: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        parts.push("/usr/local/bin:/usr/bin:/bin".into());
        parts.join(":")
    }
    /// A command with a sealed environment: only what the scripts need, PATH as given.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>, path: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", path)
            .env("HOME", self.path().join("home"))
            .env("XDG_DATA_HOME", self.path().join("home/.local/share"))
            .env("XDG_CONFIG_HOME", self.path().join("home/.config"))
            .env("XDG_CACHE_HOME", self.path().join("home/.cache"))
            .env("FAKE_DIR", self.path())
            .env("FAKE_REPO", repo())
            .env("FAKE_TOKEN", TOKEN)
            .env("LANG", "C");
        c
    }
    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
    /// Each recorded `tok` invocation, as its argument list.
    fn tok_calls(&self) -> Vec<Vec<String>> {
        let text = fs::read_to_string(self.path().join("tok.args")).unwrap_or_default();
        text.split("--END--\n")
            .filter(|s| !s.is_empty())
            .map(|s| s.lines().map(String::from).collect())
            .collect()
    }
}

/// Runs with a deadline, so that a wrapper exec'ing itself in a loop fails the test instead of
/// hanging it.
fn run(cmd: &mut Command) -> Output {
    let start = Instant::now();
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            kill_hard(pid);
            panic!(
                "command did not finish within {:?}: {cmd:?}",
                start.elapsed()
            );
        }
    }
}

fn kill_hard(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(String::from).collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn scripts_are_executable() {
    for s in [
        "shell/arc/tok-arc",
        "shell/arc/tok-arc-job",
        "shell/htcondor/tok-condor-submit",
        "shell/htcondor/tok-job-wrapper",
    ] {
        assert_eq!(
            mode(&script(s)) & 0o111,
            0o111,
            "{s} must be executable (git keeps the bit)"
        );
    }
}
