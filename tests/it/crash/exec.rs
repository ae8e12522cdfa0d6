//! `tok exec` killed with -9 while its command runs.

use super::*;

/// `tok exec` killed with -9 while its command runs. What happens: the kernel sends the command
/// SIGTERM (tok exec sets PR_SET_PDEATHSIG), so it does not run on with a token file nobody
/// renews; the token file is left in place — complete, 0600 — since nobody is left to remove
/// it. What must hold: no partial or temporary file, and the next `tok exec` works. Killed
/// while it writes the token file, it leaves no file under the token file's name, only the
/// temporary one.
#[test]
fn tok_exec_killed_mid_run() {
    assert_crash_points_built();
    let (provider, env) = rotating_file_store();
    let run = env.path().join("run");
    let marker = env.path().join("child.pid");
    let script = format!(
        "echo $$ > {m}.tmp && mv {m}.tmp {m} && exec sleep 60",
        m = marker.display()
    );
    let mut exec = env
        .command(&[
            "exec",
            "--scope",
            "storage.read:/exec",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let exec_pid = exec.id();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let token_file = run.join(format!("bt_u{uid}-exec-{exec_pid}"));
    assert!(
        wait_for(10, || marker.exists() && token_file.exists()),
        "tok exec started its command"
    );
    let child: u32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kill9(exec_pid);
    let status = exec.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );

    // The command is told to stop.
    let orphaned = !wait_for(10, || !alive(child));
    // The token file: whole, private, a token for what was asked; no temporary file beside it.
    let text = std::fs::read_to_string(&token_file).unwrap();
    assert!(
        text.ends_with('\n') && text.trim().split('.').count() == 3,
        "{text:?}"
    );
    let claims = crate::common::jwt_claims(text.trim());
    assert!(
        claims["scope"]
            .as_str()
            .unwrap_or_default()
            .contains("storage.read:/exec"),
        "{claims}"
    );
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(temp_files(&run).is_empty(), "{:?}", temp_files(&run));
    if orphaned {
        // SAFETY: kill(2) on the orphaned `sleep` this test started through tok exec.
        unsafe { libc::kill(child as libc::pid_t, libc::SIGKILL) };
    }
    assert!(
        !orphaned,
        "tok exec killed with -9 takes its command down (PR_SET_PDEATHSIG)"
    );

    // The next tok exec works and cleans up after itself; the dead one's file stays.
    let out = env
        .command(&[
            "exec",
            "--scope",
            "storage.read:/exec",
            "--",
            "sh",
            "-c",
            "cat \"$BEARER_TOKEN_FILE\"",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let second = String::from_utf8_lossy(&out.stdout);
    assert_eq!(second.trim().split('.').count(), 3, "{second}");
    assert!(token_file.exists(), "the killed exec's file is left behind");
    let files: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("bt_u"))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "the second exec removed its own file: {files:?}"
    );

    // Killed in the middle of writing its token file (temporary file written, not renamed):
    // the command never starts, no token file exists under the name it would have had (a
    // reader finds none, never a partial one), and the temporary file stays behind.
    let marker = env.path().join("never.started");
    let mut crashing = env
        .command(&[
            "exec",
            "--scope",
            "storage.read:/exec",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ])
        .env("TOK_TEST_CRASH_AT", "temp_written")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let crashed_pid = crashing.id();
    let status = crashing.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "tok exec died at temp_written"
    );
    assert!(!marker.exists(), "the command never started");
    assert!(!run.join(format!("bt_u{uid}-exec-{crashed_pid}")).exists());
    let left = temp_files(&run);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0].starts_with(&format!(".bt_u{uid}-exec-{crashed_pid}.")),
        "{left:?}"
    );
    let text = std::fs::read_to_string(run.join(&left[0])).unwrap();
    assert_eq!(text.trim().split('.').count(), 3, "a whole token: {text:?}");
    let out = env
        .command(&["exec", "--scope", "storage.read:/exec", "--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(account_state(&env).0, "ok");
    drop(provider);
}
