//! ARC: `shell/arc/tok-arc`, by name and through symlinks named like the ARC commands.

use super::*;

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
