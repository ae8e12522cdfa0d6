//! The shell-side integration in `shell/`: the `tok init` snippets, the HTCondor helpers and the
//! ARC wrapper. They are scripts around `tok`, so they run here against a fake `tok` (a small
//! shell script first in PATH that prints a fixed token and records its arguments) and fake
//! `arcsub` / `condor_submit` commands that record what they were given. No agent, no provider.

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

// ---------------------------------------------------------------------------------------------
// ARC: shell/arc/tok-arc

#[test]
fn arc_wrapper_exports_bearer_token_and_passes_args_and_exit_code() {
    let f = Fake::new();
    let arc = f.client_dir("arc", "arcsub");
    let path = f.path_var(&[&f.bin(), &arc]);
    let out = run(f
        .cmd(script("shell/arc/tok-arc"), &path)
        .env("FAKE_EXIT", "3")
        .env("BEARER_TOKEN_FILE", "/elsewhere")
        .args([
            "--scope",
            "compute.read compute.create",
            "--aud",
            "https://ce.example.org",
            "--min-valid",
            "5m",
            "--",
            "arcsub",
            "-T",
            "arcrest",
            "-C",
            "https://ce.example.org",
            "job with space.xrsl",
        ]));
    assert_eq!(out.status.code(), Some(3), "stderr: {}", text(&out.stderr));
    assert_eq!(f.read("arcsub.token"), TOKEN);
    assert_eq!(
        lines(&f.read("arcsub.args")),
        strs(&[
            "-T",
            "arcrest",
            "-C",
            "https://ce.example.org",
            "job with space.xrsl"
        ])
    );
    assert_eq!(
        f.tok_calls(),
        vec![strs(&[
            "get",
            "--scope",
            "compute.read compute.create",
            "--aud",
            "https://ce.example.org",
            "--min-valid",
            "5m"
        ])]
    );
    assert!(out.stdout.is_empty());

    // Without `--`, the first non-option is the command; success passes through as 0.
    let out = run(f
        .cmd(script("shell/arc/tok-arc"), &path)
        .args(["-a", "cms", "arcsub", "--help"]));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(lines(&f.read("arcsub.args")), strs(&["--help"]));
    assert_eq!(f.tok_calls()[1], strs(&["get", "--account", "cms"]));
}

#[test]
fn arc_wrapper_reads_its_configuration_from_the_environment() {
    let f = Fake::new();
    let arc = f.client_dir("arc", "arcstat");
    let path = f.path_var(&[&f.bin(), &arc]);
    let out = run(f
        .cmd(script("shell/arc/tok-arc"), &path)
        .env("TOK_ARC_ACCOUNT", "wlcg")
        .env("TOK_ARC_SCOPE", "compute.read compute.cancel")
        .env(
            "TOK_ARC_AUD",
            "https://ce1.example.org https://ce2.example.org",
        )
        .env("TOK_ARC_MIN_VALID", "10m")
        .args(["arcstat", "-a"]));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        f.tok_calls(),
        vec![strs(&[
            "get",
            "--account",
            "wlcg",
            "--scope",
            "compute.read compute.cancel",
            "--aud",
            "https://ce1.example.org",
            "--aud",
            "https://ce2.example.org",
            "--min-valid",
            "10m"
        ])]
    );
    assert_eq!(f.read("arcstat.token"), TOKEN);
}

#[test]
fn arc_wrapper_stops_with_toks_exit_code_when_tok_fails() {
    let f = Fake::new();
    let arc = f.client_dir("arc", "arcsub");
    let path = f.path_var(&[&f.bin(), &arc]);
    let out = run(f
        .cmd(script("shell/arc/tok-arc"), &path)
        .env("FAKE_TOK_EXIT", "3")
        .args(["arcsub", "job.xrsl"]));
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("fake failure"));
    assert!(
        !f.path().join("arcsub.token").exists(),
        "arcsub must not run without a token"
    );
}

#[test]
fn arc_symlink_named_like_the_command_runs_the_real_one_later_in_path() {
    let f = Fake::new();
    let links = f.path().join("links");
    fs::create_dir(&links).unwrap();
    symlink(script("shell/arc/tok-arc"), links.join("arcsub")).unwrap();
    let real = f.client_dir("real", "arcsub");
    // The link directory twice, before and after the fake tok: both must be skipped.
    let path = f.path_var(&[&links, &f.bin(), &links, &real]);
    let out = run(f
        .cmd(links.join("arcsub"), &path)
        .env("TOK_ARC_SCOPE", "compute.create")
        .env("FAKE_EXIT", "42")
        // Options after the command name belong to ARC, even ones tok-arc also knows.
        .args(["--scope", "x", "-C", "https://ce.example.org", "job.xrsl"]));
    assert_eq!(out.status.code(), Some(42), "stderr: {}", text(&out.stderr));
    assert_eq!(f.read("arcsub.token"), TOKEN);
    assert_eq!(
        lines(&f.read("arcsub.args")),
        strs(&["--scope", "x", "-C", "https://ce.example.org", "job.xrsl"])
    );
    assert_eq!(
        f.tok_calls(),
        vec![strs(&["get", "--scope", "compute.create"])]
    );

    // Also when found by name through PATH, as a user would type it.
    let out = run(f.cmd("arcsub", &path).arg("again"));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(lines(&f.read("arcsub.args")), strs(&["again"]));
}

#[test]
fn arc_symlink_without_a_real_command_fails_instead_of_recursing() {
    let f = Fake::new();
    let links = f.path().join("links");
    fs::create_dir(&links).unwrap();
    // A name no package provides: the real ARC clients may be installed on this machine (the
    // ARC CE tests install them), and the wrapper would rightly find /usr/bin/arcsub.
    symlink(script("shell/arc/tok-arc"), links.join("arcnosuchclient")).unwrap();
    let path = f.path_var(&[&links, &f.bin()]);
    let out = run(&mut f.cmd(links.join("arcnosuchclient"), &path));
    assert_eq!(out.status.code(), Some(127));
    assert!(
        text(&out.stderr).contains("not found"),
        "stderr: {}",
        text(&out.stderr)
    );
    assert!(
        f.tok_calls().is_empty(),
        "no token is fetched for a command that does not exist"
    );
}

#[test]
fn arc_copies_of_the_wrapper_in_path_do_not_loop() {
    let f = Fake::new();
    let wrapper = fs::read_to_string(script("shell/arc/tok-arc")).unwrap();
    let (one, two) = (f.path().join("one"), f.path().join("two"));
    for d in [&one, &two] {
        fs::create_dir(d).unwrap();
        write_exec(&d.join("arcget"), &wrapper);
    }
    let path = f.path_var(&[&one, &two, &f.bin()]);
    let out = run(f.cmd("arcget", &path).arg("-a"));
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("leads back to tok-arc"),
        "stderr: {}",
        text(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// HTCondor: shell/htcondor/tok-condor-submit

fn submit_dir(f: &Fake, submit: &str) -> PathBuf {
    let d = f.path().join("submit");
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("job.sub"), submit).unwrap();
    d
}

const JOB_SUB: &str = "universe = vanilla\nexecutable = tok-job-wrapper\n\
                       transfer_input_files = bt_job, analysis.sh\nqueue\n";

#[test]
fn condor_submit_helper_writes_a_private_token_file_and_runs_condor_submit() {
    let f = Fake::new();
    let condor = f.client_dir("condor", "condor_submit");
    let dir = submit_dir(&f, JOB_SUB);
    // A stale, too-open file from an earlier run is replaced, not rewritten in place.
    fs::write(dir.join("bt_job"), "old\n").unwrap();
    fs::set_permissions(dir.join("bt_job"), fs::Permissions::from_mode(0o644)).unwrap();
    let path = f.path_var(&[&f.bin(), &condor]);
    let out = run(f
        .cmd(script("shell/htcondor/tok-condor-submit"), &path)
        .current_dir(&dir)
        .env("FAKE_EXIT", "5")
        .args([
            "--scope",
            "storage.read:/store",
            "--aud",
            "https://se.example.org",
            "--min-valid",
            "2h",
            "--",
            "condor_submit",
            "job.sub",
            "-batch-name",
            "my batch",
        ]));
    assert_eq!(out.status.code(), Some(5), "stderr: {}", text(&out.stderr));
    let file = dir.join("bt_job");
    assert_eq!(fs::read_to_string(&file).unwrap(), format!("{TOKEN}\n"));
    assert_eq!(mode(&file), 0o600);
    assert_eq!(
        lines(&f.read("condor_submit.args")),
        strs(&["job.sub", "-batch-name", "my batch"])
    );
    assert_eq!(
        f.read("condor_submit.cwd").trim(),
        dir.canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(
        f.tok_calls(),
        vec![strs(&[
            "get",
            "--format",
            "json",
            "--min-valid",
            "2h",
            "--scope",
            "storage.read:/store",
            "--aud",
            "https://se.example.org"
        ])]
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("wrote bt_job"), "stderr: {stderr}");
    assert!(!stderr.contains("warning"), "stderr: {stderr}");
    assert!(!stderr.contains(TOKEN), "the token must never be printed");
    // No temporary files left behind.
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, strs(&["bt_job", "job.sub"]));
}

#[test]
fn condor_submit_helper_without_a_command_prints_the_submit_lines() {
    let f = Fake::new();
    let dir = submit_dir(&f, JOB_SUB);
    let path = f.path_var(&[&f.bin()]);
    let out = run(f
        .cmd(script("shell/htcondor/tok-condor-submit"), &path)
        .current_dir(&dir)
        .args(["-s", "storage.read", "--out", "cms.token"]));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("transfer_input_files = cms.token\n"),
        "stdout: {stdout}"
    );
    assert!(stdout.contains("--file cms.token"), "stdout: {stdout}");
    assert!(!stdout.contains(TOKEN));
    assert_eq!(
        fs::read_to_string(dir.join("cms.token")).unwrap(),
        format!("{TOKEN}\n")
    );
    assert_eq!(mode(&dir.join("cms.token")), 0o600);
    // The default lifetime asked for is 6h.
    assert!(f.tok_calls()[0]
        .windows(2)
        .any(|w| w == ["--min-valid", "6h"]));
}

#[test]
fn condor_submit_helper_warns_about_short_tokens_and_untransferred_files() {
    let f = Fake::new();
    let condor = f.client_dir("condor", "condor_submit");
    let dir = submit_dir(
        &f,
        "executable = run.sh\ntransfer_input_files = other\nqueue\n",
    );
    let path = f.path_var(&[&f.bin(), &condor]);
    let out = run(f
        .cmd(script("shell/htcondor/tok-condor-submit"), &path)
        .current_dir(&dir)
        .env("FAKE_TOK_LIFETIME", "1200")
        .args(["--min-valid", "1h30m", "--", "condor_submit", "job.sub"]));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("asked for 1h30m"), "stderr: {stderr}");
    assert!(stderr.contains("does not list bt_job"), "stderr: {stderr}");
    // Still submitted: warnings never stop a submission.
    assert_eq!(lines(&f.read("condor_submit.args")), strs(&["job.sub"]));
}

#[test]
fn condor_submit_helper_refuses_symlinks_and_keeps_toks_exit_code() {
    let f = Fake::new();
    let dir = submit_dir(&f, JOB_SUB);
    let path = f.path_var(&[&f.bin()]);
    let victim = f.path().join("victim");
    fs::write(&victim, "keep me\n").unwrap();
    symlink(&victim, dir.join("bt_job")).unwrap();
    let out = run(f
        .cmd(script("shell/htcondor/tok-condor-submit"), &path)
        .current_dir(&dir));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("symbolic link"),
        "stderr: {}",
        text(&out.stderr)
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me\n");

    fs::remove_file(dir.join("bt_job")).unwrap();
    let out = run(f
        .cmd(script("shell/htcondor/tok-condor-submit"), &path)
        .current_dir(&dir)
        .env("FAKE_TOK_EXIT", "4"));
    assert_eq!(out.status.code(), Some(4));
    assert!(!dir.join("bt_job").exists());
}

// ---------------------------------------------------------------------------------------------
// HTCondor: shell/htcondor/tok-job-wrapper

/// A payload that records what it sees, then exits 7.
const PAYLOAD: &str = "printf '%s\\n' \"$BEARER_TOKEN_FILE\" \"${BEARER_TOKEN-<unset>}\" \"$@\" \
                       > \"$FAKE_DIR/payload.out\"; exit 7";

fn job_cmd(f: &Fake, scratch: &Path) -> Command {
    let path = f.path_var(&[]);
    let mut c = f.cmd(script("shell/htcondor/tok-job-wrapper"), &path);
    c.current_dir(scratch)
        .env("_CONDOR_SCRATCH_DIR", scratch)
        .env("BEARER_TOKEN", "stale");
    c
}

fn payload_args() -> [&'static str; 5] {
    ["/bin/sh", "-c", PAYLOAD, "payload", "arg one"]
}

#[test]
fn job_wrapper_exports_the_transferred_file_and_passes_the_exit_code() {
    let f = Fake::new();
    let scratch = f.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    fs::write(scratch.join("bt_job"), format!("{TOKEN}\n")).unwrap();
    fs::set_permissions(scratch.join("bt_job"), fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(job_cmd(&f, &scratch).args(payload_args()));
    assert_eq!(out.status.code(), Some(7), "stderr: {}", text(&out.stderr));
    let seen = lines(&f.read("payload.out"));
    assert_eq!(seen[0], scratch.join("bt_job").to_str().unwrap());
    assert!(Path::new(&seen[0]).is_absolute());
    assert_eq!(
        seen[1], "<unset>",
        "a stale BEARER_TOKEN must not shadow the file"
    );
    assert_eq!(&seen[2..], strs(&["arg one"]));
    assert_eq!(mode(&scratch.join("bt_job")), 0o600);

    // --file NAME, relative to the scratch directory, made absolute.
    fs::rename(scratch.join("bt_job"), scratch.join("cms.token")).unwrap();
    let out = run(job_cmd(&f, &scratch)
        .arg("--file")
        .arg("cms.token")
        .arg("--")
        .args(payload_args()));
    assert_eq!(out.status.code(), Some(7), "stderr: {}", text(&out.stderr));
    assert_eq!(
        lines(&f.read("payload.out"))[0],
        scratch.join("cms.token").to_str().unwrap()
    );
}

#[test]
fn job_wrapper_uses_the_credmon_file() {
    let f = Fake::new();
    let scratch = f.path().join("scratch");
    let creds = f.path().join("creds");
    fs::create_dir(&scratch).unwrap();
    fs::create_dir(&creds).unwrap();
    fs::write(creds.join("wlcg.use"), format!("{TOKEN}\n")).unwrap();

    // The only *.use file is taken without --service.
    let out = run(job_cmd(&f, &scratch)
        .env("_CONDOR_CREDS", &creds)
        .args(payload_args()));
    assert_eq!(out.status.code(), Some(7), "stderr: {}", text(&out.stderr));
    assert_eq!(
        lines(&f.read("payload.out"))[0],
        creds.join("wlcg.use").to_str().unwrap()
    );

    // Several: --service picks one, and without it the wrapper refuses to guess.
    fs::write(creds.join("wlcg_write.use"), format!("{TOKEN}\n")).unwrap();
    let out = run(job_cmd(&f, &scratch)
        .env("_CONDOR_CREDS", &creds)
        .args(["--service", "wlcg_write"])
        .args(payload_args()));
    assert_eq!(out.status.code(), Some(7), "stderr: {}", text(&out.stderr));
    assert_eq!(
        lines(&f.read("payload.out"))[0],
        creds.join("wlcg_write.use").to_str().unwrap()
    );

    fs::remove_file(f.path().join("payload.out")).unwrap();
    let out = run(job_cmd(&f, &scratch)
        .env("_CONDOR_CREDS", &creds)
        .args(payload_args()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--service"),
        "stderr: {}",
        text(&out.stderr)
    );
    assert!(
        !f.path().join("payload.out").exists(),
        "the payload must not run without a token"
    );
}

#[test]
fn job_wrapper_without_a_token_fails_before_the_payload() {
    let f = Fake::new();
    let scratch = f.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    let out = run(job_cmd(&f, &scratch).args(payload_args()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no token"),
        "stderr: {}",
        text(&out.stderr)
    );
    assert!(!f.path().join("payload.out").exists());

    let out = run(&mut job_cmd(&f, &scratch));
    assert_eq!(out.status.code(), Some(2), "no payload is a usage error");
}

// ---------------------------------------------------------------------------------------------
// The `tok init` snippets

#[test]
fn snippets_are_valid_syntax() {
    let check = |shell: &str, file: &str| {
        if !have(shell) {
            println!("note: {shell} is not installed; skipping the syntax check of {file}");
            return;
        }
        let out = Command::new(shell)
            .arg("-n")
            .arg(script(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell} -n {file}: {}",
            text(&out.stderr)
        );
    };
    check("bash", "shell/tok.bash");
    check("zsh", "shell/tok.zsh");
    check("fish", "shell/tok.fish");
    let out = Command::new("sh")
        .arg("-n")
        .arg(script("shell/htcondor/tok-job-wrapper"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Waits for the background `tok agent start` the snippet launched.
fn wait_for_agent_start(f: &Fake) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f.tok_calls()
            .iter()
            .any(|c| c == &strs(&["agent", "start"]))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Evaluates a snippet the way `tok init SHELL` output is used, then runs `after` in the same
/// shell. Returns the output.
fn eval_snippet(
    f: &Fake,
    shell: &str,
    file: &str,
    after: &str,
    extra_env: &[(&str, &str)],
) -> Output {
    let snippet = script(file);
    let program = match shell {
        "fish" => format!("cat '{}' | source; or exit 99\n{after}", snippet.display()),
        "zsh" => format!(
            "autoload -Uz compinit && compinit -u -d \"$HOME/.zcompdump\"\n\
             eval \"$(cat '{}')\" || exit 99\n{after}",
            snippet.display()
        ),
        _ => format!(
            "set -euo pipefail\neval \"$(cat '{}')\" || exit 99\n{after}",
            snippet.display()
        ),
    };
    let path = f.path_var(&[&f.bin()]);
    let mut c = f.cmd(shell, &path);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    run(c.arg("-c").arg(program))
}

#[test]
fn bash_snippet_is_silent_starts_the_agent_and_defines_tok_use() {
    let f = Fake::new();
    let out = eval_snippet(&f, "bash", "shell/tok.bash", "", &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    assert!(
        wait_for_agent_start(&f),
        "the snippet did not run `tok agent start`"
    );

    // Completions (the fallback, as none are installed here) and tok_use, in the same shell;
    // tok_use evaluates `tok env` and passes its arguments on.
    let after = "complete -p tok >/dev/null\n\
                 declare -F __tok_init >/dev/null && exit 98\n\
                 tok_use --scope storage.read\n\
                 printf '%s\\n' \"$BEARER_TOKEN_FILE\" \"${BEARER_TOKEN-<unset>}\"";
    let out = eval_snippet(
        &f,
        "bash",
        "shell/tok.bash",
        after,
        &[("BEARER_TOKEN", "stale")],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        lines(&text(&out.stdout)),
        vec![f.path().join("bt").display().to_string(), "<unset>".into()]
    );
    assert!(f.tok_calls().contains(&strs(&[
        "env",
        "--shell",
        "bash",
        "--scope",
        "storage.read"
    ])));

    // A failing `tok env` changes nothing and its exit code reaches the caller.
    let after = "export FAKE_TOK_EXIT=3\nrc=0; tok_use || rc=$?\n\
                 printf '%s\\n' \"$rc\" \"${BEARER_TOKEN_FILE-<unset>}\"";
    let out = eval_snippet(&f, "bash", "shell/tok.bash", after, &[]);
    assert_eq!(
        lines(&text(&out.stdout)),
        strs(&["3", "<unset>"]),
        "stderr: {}",
        text(&out.stderr)
    );
}

#[test]
fn bash_snippet_respects_no_autostart_and_a_missing_tok() {
    let f = Fake::new();
    let out = eval_snippet(
        &f,
        "bash",
        "shell/tok.bash",
        "sleep 0.3",
        &[("TOK_NO_AUTOSTART", "1")],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert!(
        f.tok_calls().is_empty(),
        "TOK_NO_AUTOSTART=1 must not start the agent"
    );

    // A copied snippet on a machine without tok: silent, status 0.
    fs::remove_file(f.bin().join("tok")).unwrap();
    let out = eval_snippet(&f, "bash", "shell/tok.bash", "", &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "stderr: {}",
        text(&out.stderr)
    );
}

#[test]
fn bash_snippet_loads_toks_own_completions_on_first_use() {
    let f = Fake::new();
    // Nothing runs at start; the first completion loads `tok completions bash` (issue 11).
    let after = "complete -p tok\n\
                 declare -F _tok >/dev/null && exit 96\n\
                 COMP_WORDS=(tok sta); COMP_CWORD=1; __tok_complete tok sta tok\n\
                 printf '%s\\n' \"${COMPREPLY[@]}\"\n\
                 complete -p tok";
    let out = eval_snippet(&f, "bash", "shell/tok.bash", after, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("status"), "stdout: {stdout}");
    assert_eq!(
        stdout.matches("-F __tok_complete tok").count(),
        2,
        "ours stays in front of the generated one: {stdout}"
    );
}

#[test]
fn zsh_snippet_is_silent_and_defines_tok_use() {
    if !have("zsh") {
        println!("note: zsh is not installed; skipping");
        return;
    }
    let f = Fake::new();
    let after = "(( $+functions[__tok_init] )) && exit 98\n\
                 [[ -n ${_comps[tok]} ]] || exit 97\n\
                 tok_use --aud https://se.example.org\n\
                 print -r -- \"$BEARER_TOKEN_FILE\" \"${BEARER_TOKEN-<unset>}\"";
    let out = eval_snippet(
        &f,
        "zsh",
        "shell/tok.zsh",
        after,
        &[("BEARER_TOKEN", "stale")],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{} <unset>\n", f.path().join("bt").display())
    );
    assert!(wait_for_agent_start(&f));
    assert!(f.tok_calls().contains(&strs(&[
        "env",
        "--shell",
        "zsh",
        "--aud",
        "https://se.example.org"
    ])));
}

#[test]
fn fish_snippet_is_silent_and_defines_tok_use() {
    if !have("fish") {
        println!("note: fish is not installed; skipping");
        return;
    }
    let f = Fake::new();
    let after = "complete -C'tok ' | string match -q 'get*'; or exit 97\n\
                 set -q __tok_found; and exit 98\n\
                 tok_use --scope storage.read\n\
                 echo $BEARER_TOKEN_FILE; set -q BEARER_TOKEN; and echo still-set\ntrue";
    let out = eval_snippet(
        &f,
        "fish",
        "shell/tok.fish",
        after,
        &[("BEARER_TOKEN", "stale")],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}\n", f.path().join("bt").display())
    );
    assert!(wait_for_agent_start(&f));
    assert!(f.tok_calls().contains(&strs(&[
        "env",
        "--shell",
        "fish",
        "--scope",
        "storage.read"
    ])));
}

#[test]
fn scripts_are_executable() {
    for s in [
        "shell/arc/tok-arc",
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
