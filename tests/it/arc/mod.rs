//! A real ARC CE takes tok's tokens: A-REX 6.17 on loopback (common::arc) authorises the ARC
//! clients with tokens from the test provider, refuses tokens with the wrong scope or audience,
//! and runs ONE real job: the long-job route of issue 8, where the job renews its own tokens
//! from a delegated credential with no agent anywhere. One job, because a fork job costs
//! 20–40 s of wall time (A-REX looks for finished fork jobs only every 20 s).

use crate::common::arc::{self, ArcCe};
use crate::common::TestEnv;
use crate::common::{
    jwt_claims, repo, tok_bin, wait_with_timeout, Approval, Out, Provider, ProviderOpts,
};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod job;

/// The audience the CE wants in tokens.
const CE_AUD: &str = "https://ce.tok-test.example";
/// The scope the CE wants (6.17 has one scope rule for submitting, querying and fetching).
const CE_SCOPE: &str = "compute.create";
/// The storage audience the job's own tokens are for.
const SE_AUD: &str = "https://se.example.org";

/// Runs `cmd` (from `env.program`/`env.command`) to the end, at most 2 minutes.
fn run(cmd: &mut Command, what: &str) -> Out {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let o = wait_with_timeout(child, Duration::from_secs(120));
    Out {
        what: what.to_string(),
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `tok exec --scope S --aud A -- ARGS…`: the ARC client finds the token by
/// `BEARER_TOKEN_FILE`, the only thing tok exec gives it.
fn tok_exec(env: &TestEnv, dir: &Path, scope: &str, aud: &str, args: &[&str]) -> Out {
    let mut all = vec!["exec", "--scope", scope, "--aud", aud, "--"];
    all.extend_from_slice(args);
    run(
        env.command(&all).current_dir(dir),
        &format!("tok {}", all.join(" ")),
    )
}

/// `shell/arc/tok-arc ARGS…`, configured the way its README shows: by the environment.
fn tok_arc(env: &TestEnv, dir: &Path, args: &[&str]) -> Out {
    run(
        env.program(repo().join("shell/arc/tok-arc"))
            .current_dir(dir)
            .env("TOK_ARC_SCOPE", CE_SCOPE)
            .env("TOK_ARC_AUD", CE_AUD)
            .args(args),
        &format!(
            "TOK_ARC_SCOPE={CE_SCOPE} TOK_ARC_AUD={CE_AUD} tok-arc {}",
            args.join(" ")
        ),
    )
}

fn mkdir(env: &TestEnv, name: &str) -> std::path::PathBuf {
    let d = env.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A-REX authorises by the token alone: the user's X.509 proxy, which every ARC 6 client
/// presents, does not get a job in when the token lacks the scope or is for another audience.
#[test]
fn arcsub_is_refused_for_a_token_with_the_wrong_scope_or_audience() {
    arc::check_installed();
    let provider = Provider::start();
    let ce = ArcCe::start(&provider, CE_AUD, CE_SCOPE);
    let mut env = TestEnv::new();
    ce.configure_client(&mut env);
    env.login_cms(&provider);
    let dir = mkdir(&env, "submit");
    std::fs::write(
        dir.join("job.xrsl"),
        "&(executable=\"/bin/true\")(jobname=\"must-not-run\")\n",
    )
    .unwrap();
    let url = ce.url();

    // The right token gets the CE's information (arcinfo creates no job): the refusals below
    // are about the tokens, not the CE or the client setup.
    let out = tok_exec(&env, &dir, CE_SCOPE, CE_AUD, &["arcinfo", &url]);
    if out.code != Some(0) || !out.stdout.contains("Computing service") {
        ce.fail("arcinfo with the right token should describe the CE", &out);
    }

    for (why, scope, aud) in [
        (
            "a token without compute.create",
            "storage.read:/data",
            CE_AUD,
        ),
        (
            "a token for another audience",
            CE_SCOPE,
            "https://other.example.org",
        ),
    ] {
        let before = ce.service_log().matches("Matched nothing").count();
        let out = tok_exec(
            &env,
            &dir,
            scope,
            aud,
            &["arcsub", "-T", "arcrest", "-C", &url, "job.xrsl"],
        );
        // ARC shows a refused token only as a CE that said nothing.
        if out.code != Some(1)
            || !out.stderr.contains("no resource returned any information")
            || out.stdout.contains("Job submitted")
        {
            ce.fail(&format!("arcsub with {why} should be refused"), &out);
        }
        // The CE's side: no authgroup matched the token, and it says so to arcinfo.
        if ce.service_log().matches("Matched nothing").count() <= before {
            ce.fail(
                &format!("A-REX should log that {why} matched no authgroup"),
                &out,
            );
        }
        let out = tok_exec(&env, &dir, scope, aud, &["arcinfo", &url]);
        if out.code != Some(1) || !out.stderr.contains("Error 403: User can't be assigned") {
            ce.fail(&format!("arcinfo with {why} should get a 403"), &out);
        }
    }
    assert_eq!(
        ce.job_count(),
        0,
        "a refused submission creates no job\n{}",
        ce.logs()
    );
}

/// What the one job above avoids: tok-arc-job warns when a payload argument holds `$` or a
/// backquote (A-REX would expand it in its job script), and still prints it as given.
#[test]
fn tok_arc_job_warns_about_arguments_that_a_rex_would_expand() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let dir = mkdir(&env, "submit");
    let job = repo().join("shell/arc/tok-arc-job");
    let payload = r#"cat "$BEARER_TOKEN_FILE""#;
    let out = run(
        env.program(&job).current_dir(&dir).args([
            "-s",
            "storage.read:/data",
            "--",
            "sh",
            "-c",
            payload,
        ]),
        "tok-arc-job -s storage.read:/data -- sh -c 'cat \"$BEARER_TOKEN_FILE\"'",
    )
    .ok();
    assert!(
        out.stderr
            .contains("warning: A-REX expands $ and ` in job arguments"),
        "{out}"
    );
    assert!(
        out.stdout.contains(r#""-c" "cat ""$BEARER_TOKEN_FILE""")"#),
        "{out}"
    );
    let out = run(
        env.program(&job).current_dir(&dir).args([
            "-s",
            "storage.read:/data",
            "-o",
            "script.cred",
            "--",
            "sh",
            "run.sh",
        ]),
        "tok-arc-job -s storage.read:/data -o script.cred -- sh run.sh",
    )
    .ok();
    assert!(!out.stderr.contains("warning"), "{out}");
}
