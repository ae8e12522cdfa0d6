//! HTCondor: `shell/htcondor/tok-condor-submit` (the file route) and `tok-job-wrapper`.

use super::*;

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
