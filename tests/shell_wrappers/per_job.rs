//! One job credential per job (issue 21, item 7): `tok-condor-submit --delegate DUR --jobs N`
//! and `tok-arc-job --jobs N` run N delegations, name the files FILE.0 … FILE.N-1, write submit
//! lines and xRSL to match, revoke what they wrote when a later delegation fails, and warn when
//! jobs would share one credential at a provider that rotates refresh tokens (the fake tok's
//! summary says so as the real one does, on its `rotation:` line).

use super::*;

/// A submit directory holding `job.sub` with `submit` as its text.
fn submit_dir(f: &Fake, submit: &str) -> PathBuf {
    let d = f.path().join("submit");
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("job.sub"), submit).unwrap();
    d
}

/// A submit file that transfers the per-job credential and tok, queueing `n` jobs.
fn per_job_sub(f: &Fake, n: u32) -> String {
    format!(
        "universe = vanilla\nexecutable = tok-job-wrapper\n\
         arguments = --credential tok.cred.$(Process) ./analysis.sh\n\
         transfer_input_files = tok.cred.$(Process), {}\nqueue {n}\n",
        f.bin().join("tok").display()
    )
}

/// `tok-condor-submit ARGS` in `dir`, with the fake tok and a recording condor_submit.
fn condor_submit_helper(f: &Fake, dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let condor = f.client_dir("condor", "condor_submit");
    let path = f.path_var(&[&f.bin(), &condor]);
    let mut cmd = f.cmd(script("shell/htcondor/tok-condor-submit"), &path);
    cmd.current_dir(dir).args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// The `--out` of each recorded `tok delegate`, and that each asked for the same scope.
fn delegated_files(f: &Fake) -> Vec<String> {
    f.tok_calls()
        .iter()
        .filter(|c| c[0] == "delegate")
        .map(|c| {
            assert!(
                c.windows(2).any(|w| w == ["--scope", "storage.read:/d"]),
                "{c:?}"
            );
            let at = c.iter().position(|a| a == "--out").expect("--out");
            c[at + 1].clone()
        })
        .collect()
}

#[test]
fn condor_writes_one_credential_per_job_and_the_submit_lines_to_match() {
    let f = Fake::new();
    let dir = submit_dir(&f, "");
    let out = condor_submit_helper(
        &f,
        &dir,
        &[],
        &["--delegate", "2d", "-s", "storage.read:/d", "--jobs", "3"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(
        delegated_files(&f),
        strs(&["tok.cred.0", "tok.cred.1", "tok.cred.2"])
    );
    for i in 0..3 {
        let file = dir.join(format!("tok.cred.{i}"));
        assert_eq!(mode(&file), 0o600);
    }
    let tok = fs::canonicalize(f.bin().join("tok")).unwrap();
    assert_eq!(
        lines(&text(&out.stdout)),
        vec![
            format!(
                "transfer_input_files = tok.cred.$(Process), {}",
                tok.display()
            ),
            "# executable = tok-job-wrapper".to_string(),
            "# arguments  = --credential tok.cred.$(Process) YOUR_PAYLOAD ARGS".to_string(),
            "# queue 3".to_string(),
        ]
    );
    assert!(stderr.contains("wrote 3 credentials"), "stderr: {stderr}");
    // One summary is enough for N alike credentials.
    assert_eq!(stderr.matches("tok delegate: wrote").count(), 1, "{stderr}");
    assert!(!stderr.contains("warning"), "stderr: {stderr}");
}

#[test]
fn condor_checks_the_queue_count_against_the_credentials() {
    let f = Fake::new();
    let dir = submit_dir(&f, &per_job_sub(&f, 3));
    let args = [
        "--delegate",
        "1d",
        "-s",
        "storage.read:/d",
        "--jobs",
        "3",
        "--",
        "condor_submit",
        "job.sub",
    ];
    let out = condor_submit_helper(&f, &dir, &[], &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(lines(&f.read("condor_submit.args")), strs(&["job.sub"]));
    assert!(
        !stderr.contains("warning"),
        "a matching submit file: {stderr}"
    );

    fs::write(dir.join("job.sub"), per_job_sub(&f, 2)).unwrap();
    let out = condor_submit_helper(&f, &dir, &[], &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("warning: job.sub queues 2 jobs, but 3 credentials were written"),
        "stderr: {stderr}"
    );
}

#[test]
fn condor_warns_when_queued_jobs_would_share_a_rotating_credential() {
    let f = Fake::new();
    let sub = "executable = tok-job-wrapper\ntransfer_input_files = tok.cred, tok\nqueue 4\n";
    let dir = submit_dir(&f, sub);
    let args = [
        "--delegate",
        "1d",
        "-s",
        "storage.read:/d",
        "--",
        "condor_submit",
        "job.sub",
    ];
    for (rotation, warned) in [("yes", true), ("unknown", true), ("no", false)] {
        let out = condor_submit_helper(&f, &dir, &[("FAKE_ROTATION", rotation)], &args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
        assert_eq!(
            stderr.contains("queues 4 jobs that share one credential")
                && stderr.contains("use --jobs 4"),
            warned,
            "rotation {rotation}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("rotation:    {rotation}")),
            "{stderr}"
        );
    }
}

#[test]
fn condor_revokes_the_credentials_written_when_a_later_delegation_fails() {
    let f = Fake::new();
    let dir = submit_dir(&f, &per_job_sub(&f, 3));
    let out = condor_submit_helper(
        &f,
        &dir,
        &[("FAKE_DELEGATE_FAIL_AT", "3")],
        &[
            "--delegate",
            "1d",
            "-s",
            "storage.read:/d",
            "--jobs",
            "3",
            "--",
            "condor_submit",
            "job.sub",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(4),
        "tok's exit code; stderr: {stderr}"
    );
    assert!(
        stderr.contains("fake provider outage"),
        "tok's reason: {stderr}"
    );
    assert!(
        !f.path().join("condor_submit.args").exists(),
        "nothing is submitted"
    );
    let revoked: Vec<Vec<String>> = f
        .tok_calls()
        .into_iter()
        .filter(|c| c[0] == "revoke")
        .collect();
    assert_eq!(
        revoked,
        vec![
            strs(&["revoke", "--credential", "tok.cred.0"]),
            strs(&["revoke", "--credential", "tok.cred.1"]),
        ]
    );
}

#[test]
fn jobs_is_a_positive_count_and_needs_a_credential() {
    let f = Fake::new();
    let dir = submit_dir(&f, "");
    for args in [
        &["--jobs", "2"] as &[&str],
        &["--delegate", "1d", "--jobs", "0"],
        &["--delegate", "1d", "--jobs", "many"],
    ] {
        let out = condor_submit_helper(&f, &dir, &[], args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.contains("--jobs"), "{stderr}");
    }
    for args in [&["--jobs", "0"] as &[&str], &["--jobs=x"]] {
        let mut all = args.to_vec();
        all.extend(["--", "./run.sh"]);
        let out = run(f
            .cmd(script("shell/arc/tok-arc-job"), &f.path_var(&[&f.bin()]))
            .current_dir(&dir)
            .args(&all));
        assert_eq!(out.status.code(), Some(2), "{all:?}: {}", text(&out.stderr));
    }
    assert!(
        f.tok_calls().is_empty(),
        "tok is not asked on a usage error"
    );
}

#[test]
fn arc_job_writes_one_credential_and_one_xrsl_block_per_job() {
    let f = Fake::new();
    let dir = submit_dir(&f, "");
    let out = run(f
        .cmd(script("shell/arc/tok-arc-job"), &f.path_var(&[&f.bin()]))
        .current_dir(&dir)
        .args([
            "-s",
            "storage.read:/d",
            "--jobs",
            "2",
            "--",
            "./run.sh",
            "42",
        ]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(delegated_files(&f), strs(&["tok.cred.0", "tok.cred.1"]));
    let stdout = text(&out.stdout);
    let blocks: Vec<&str> = stdout.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{stdout}");
    let tok = fs::canonicalize(f.bin().join("tok")).unwrap();
    for (i, block) in blocks.iter().enumerate() {
        let cred = dir.canonicalize().unwrap().join(format!("tok.cred.{i}"));
        assert_eq!(
            lines(block),
            vec![
                format!("(* job {} of 2: its own credential tok.cred.{i} *)", i + 1),
                "(executable=\"tok\")".to_string(),
                format!(
                    "(arguments=\"exec\" \"--credential\" \"tok.cred.{i}\" \"--file\" \"bt_job\" \"--\" \"./run.sh\" \"42\")"
                ),
                format!(
                    "(inputFiles=(\"tok\" \"{}\")(\"tok.cred.{i}\" \"{}\"))",
                    tok.display(),
                    cred.display()
                ),
                "(executables=\"tok\")".to_string(),
            ],
            "{stdout}"
        );
    }
    assert!(stderr.contains("wrote 2 credentials"), "{stderr}");

    // A failure on the way revokes what was written and keeps tok's exit code.
    let f = Fake::new();
    let out = run(f
        .cmd(script("shell/arc/tok-arc-job"), &f.path_var(&[&f.bin()]))
        .current_dir(f.path())
        .env("FAKE_DELEGATE_FAIL_AT", "2")
        .args(["-s", "storage.read:/d", "--jobs", "2", "--", "./run.sh"]));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stdout).is_empty(), "no xRSL for a half-done set");
    let calls = f.tok_calls();
    assert_eq!(
        calls.last().unwrap(),
        &strs(&["revoke", "--credential", "tok.cred.0"])
    );
}
