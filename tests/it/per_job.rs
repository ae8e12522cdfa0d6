//! `queue N` at a provider that rotates refresh tokens (issue 21, item 7), with the real tok and
//! the real test provider (rotation on, which reuse-detects: a spent refresh token used again
//! ends its grant). Jobs that share one credential spend each other's token; one credential per
//! job (`tok-condor-submit --delegate … --jobs N`, `tok-arc-job --jobs N`) keeps each job's
//! renewals its own. `tok delegate` says which case the provider is.

use super::delegate::{delegate, output, read_json, script, without_agent, AUD};
use crate::common::{jwt_claims, Provider, ProviderOpts, TestEnv};
use std::path::{Path, PathBuf};

/// The first word of the summary's `rotation:` line.
fn rotation(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("rotation:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no rotation line in\n{stderr}"))
}

/// A copy of `cred` in a job's own scratch directory, as HTCondor or A-REX stage it.
fn stage(env: &TestEnv, job: &str, cred: &Path, name: &str) -> PathBuf {
    let dir = env.path().join(job);
    std::fs::create_dir_all(&dir).unwrap();
    let to = dir.join(name);
    std::fs::copy(cred, &to).unwrap();
    to
}

/// One renewal inside a job: `tok get --credential FILE`, no agent.
fn renew(env: &TestEnv, cred: &Path) -> crate::common::Out {
    env.run(&["get", "--credential", cred.to_str().unwrap()])
}

#[test]
fn delegate_says_whether_the_provider_rotates_refresh_tokens() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let kept = env.path().join("kept.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/data",
            "--out",
            kept.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(rotation(&out.stderr), "no", "{out}");
    assert!(out.stderr.contains("jobs may share"), "{out}");

    provider.set_rotate(true);
    let before = provider.refreshes();
    let rotated = env.path().join("rotated.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/data",
            "--out",
            rotated.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(rotation(&out.stderr), "yes", "{out}");
    assert!(
        out.stderr.contains("give each job its own credential"),
        "{out}"
    );
    assert_eq!(
        provider.refreshes(),
        before + 1,
        "one first refresh, no more"
    );
    // The file holds the live token (the one the first refresh gave), not the spent one.
    let rt = read_json(&rotated)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        provider
            .live_refresh_tokens()
            .iter()
            .any(|r| r["value"] == rt.as_str()),
        "the credential holds the rotated token"
    );
    assert!(!out.stderr.contains(&rt), "no token in the summary");
    renew(&env, &rotated).ok();

    // When the first refresh fails, tok says it cannot tell, and keeps the credential.
    provider.post(
        "/test/fault",
        serde_json::json!({"mode": "500", "grant": "refresh_token"}),
    );
    let unknown = env.path().join("unknown.cred");
    let out = env
        .run(&[
            "delegate",
            "-s",
            "storage.read:/data",
            "--out",
            unknown.to_str().unwrap(),
        ])
        .ok();
    provider.fault("none", 0);
    assert_eq!(rotation(&out.stderr), "unknown", "{out}");
    assert!(unknown.exists());
}

#[test]
fn htcondor_jobs_sharing_a_rotating_credential_fail_and_one_per_job_works() {
    let provider = Provider::start_with(ProviderOpts {
        rotate: true,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    env.login_cms(&provider);

    // One credential, two jobs: the second job's renewal presents a spent token; the provider
    // ends the grant, and the first job loses it too.
    let shared = delegate(
        &env,
        "shared.cred",
        &["-s", "storage.read:/data", "--aud", AUD],
    );
    let job0 = stage(&env, "shared-0", &shared, "tok.cred");
    let job1 = stage(&env, "shared-1", &shared, "tok.cred");
    renew(&env, &job0).ok();
    let out = renew(&env, &job1).code(3);
    assert!(out.stderr.contains("no longer accepts"), "{out}");
    renew(&env, &job0).code(3);

    // tok-condor-submit --jobs 2: two delegations, submit lines that pick tok.cred.$(Process).
    let submit = env.path().join("submit");
    std::fs::create_dir(&submit).unwrap();
    let out = env
        .program(script("htcondor/tok-condor-submit"))
        .current_dir(&submit)
        .args([
            "--delegate",
            "1d",
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--jobs",
            "2",
        ])
        .output()
        .unwrap();
    let out = output("tok-condor-submit --delegate 1d --jobs 2", out).ok();
    assert_eq!(rotation(&out.stderr), "yes", "{out}");
    let transfer = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("transfer_input_files = "))
        .unwrap_or_else(|| panic!("no transfer line\n{out}"));
    assert!(transfer.starts_with("tok.cred.$(Process), "), "{out}");
    assert!(
        out.stdout
            .contains("# arguments  = --credential tok.cred.$(Process) "),
        "{out}"
    );
    let a = read_json(&submit.join("tok.cred.0"));
    let b = read_json(&submit.join("tok.cred.1"));
    assert_ne!(a["refresh_token"], b["refresh_token"]);
    assert_ne!(a["id"], b["id"], "two delegations, each listed on its own");
    let status = env.run(&["status", "--json"]).ok();
    for id in [&a["id"], &b["id"]] {
        assert!(status.stdout.contains(id.as_str().unwrap()), "{status}");
    }

    // On the workers ($(Process) = 0 and 1), no agent: each job renews from its own copy,
    // interleaved, again and again, and every token is the job's.
    without_agent(&mut env);
    let jobs: Vec<PathBuf> = (0..2)
        .map(|i| {
            let name = format!("tok.cred.{i}");
            stage(&env, &format!("job-{i}"), &submit.join(&name), &name)
        })
        .collect();
    for _ in 0..3 {
        for cred in &jobs {
            let token = renew(&env, cred).ok().stdout.trim().to_string();
            let claims = jwt_claims(&token);
            assert_eq!(claims["scope"], "storage.read:/data");
            assert_eq!(claims["aud"], AUD);
        }
    }
    assert!(!env.socket().exists(), "no agent on the workers");
}

#[test]
fn arc_jobs_each_get_their_own_credential() {
    let provider = Provider::start_with(ProviderOpts {
        rotate: true,
        ..Default::default()
    });
    let mut env = TestEnv::new();
    env.login_cms(&provider);
    let dir = env.path().join("arc");
    std::fs::create_dir(&dir).unwrap();
    let out = env
        .program(script("arc/tok-arc-job"))
        .current_dir(&dir)
        .args([
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--jobs",
            "2",
            "--",
            "./run.sh",
        ])
        .output()
        .unwrap();
    let out = output("tok-arc-job --jobs 2", out).ok();
    assert_eq!(rotation(&out.stderr), "yes", "{out}");
    for i in 0..2 {
        let name = format!("\"tok.cred.{i}\"");
        assert_eq!(
            out.stdout.matches(&name).count(),
            2,
            "{i}: arguments and inputFiles\n{out}"
        );
    }
    without_agent(&mut env);
    let jobs: Vec<PathBuf> = (0..2)
        .map(|i| {
            let name = format!("tok.cred.{i}");
            stage(&env, &format!("session-{i}"), &dir.join(&name), &name)
        })
        .collect();
    for _ in 0..2 {
        for cred in &jobs {
            renew(&env, cred).ok();
        }
    }
}
