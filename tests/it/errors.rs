//! The README's exit-code table, walked (issue 11): every row is provoked for real, its exit code
//! checked, and its message must name the next step. A code added to the table without a case
//! here, or a case without a row, fails the test.

use crate::common::{Provider, TestEnv};
use std::collections::BTreeMap;
use std::time::Duration;

/// The README's exit-code table: code → (meaning, what to do).
fn readme_table() -> BTreeMap<i32, (String, String)> {
    let readme = std::fs::read_to_string(crate::common::repo().join("README.md")).unwrap();
    let section = readme
        .split("## Exit codes")
        .nth(1)
        .expect("README has an Exit codes section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| code"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<String> = l.split('|').map(|c| c.trim().to_string()).collect();
            (
                cells[1].parse().unwrap(),
                (cells[2].clone(), cells[3].clone()),
            )
        })
        .collect()
}

#[test]
fn every_exit_code_in_the_readme_is_what_tok_does() {
    let table = readme_table();
    let provider = Provider::start();
    let env = TestEnv::new();
    // code → (what provoked it, the next step its message must name)
    let mut seen: BTreeMap<i32, (String, &str)> = BTreeMap::new();
    let mut check = |code: i32, args: &[&str], env: &TestEnv, next_step: &'static str| {
        let out = env.run(args).code(code);
        assert!(
            out.stderr.contains(next_step),
            "exit {code} should name `{next_step}`\n{out}"
        );
        seen.insert(code, (out.what.clone(), next_step));
    };
    check(0, &["issuers"], &env, "");
    check(3, &["get"], &env, "tok login");
    env.login_cms(&provider);
    check(2, &["get", "-a", "nosuch"], &env, "tok login nosuch");
    check(
        5,
        &["get", "-s", "storage.modify:/elsewhere"],
        &env,
        "tok login cms --scope",
    );
    provider.fault("500", 0);
    check(
        4,
        &["get", "-s", "storage.read:/down"],
        &env,
        "try again later",
    );
    provider.fault("none", 0);
    env.run(&["lock"]).ok();
    check(7, &["get"], &env, "tok unlock");
    env.run(&["unlock"]).ok();
    let idle = TestEnv::new();
    let mut no_agent = idle.command(&["get"]);
    no_agent.env("TOK_NO_AUTOSTART", "1");
    let out = no_agent.output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tok agent start"));
    seen.insert(
        6,
        ("tok get (no agent, no autostart)".into(), "tok agent start"),
    );
    // 1: an error of tok's own (here: stdout is a full disk).
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = env.command(&["get"]).stdout(full).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    seen.insert(1, ("tok get > /dev/full".into(), ""));
    // 130: Ctrl-C during a login.
    let mut login = env.spawn_login(&["other", "--issuer", &provider.issuer]);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the child we spawned.
    unsafe { libc::kill(login.id() as i32, libc::SIGINT) };
    let status = login.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    seen.insert(130, ("tok login, then Ctrl-C".into(), ""));

    let table_codes: Vec<i32> = table.keys().copied().collect();
    let tested: Vec<i32> = seen.keys().copied().collect();
    assert_eq!(table_codes, tested, "README rows and tested codes differ");
    for (code, (what, _)) in &seen {
        let (meaning, todo) = &table[code];
        assert!(
            *code == 0 || (!meaning.is_empty() && !todo.is_empty()),
            "the README row for {code} ({what}) needs a meaning and a next step"
        );
    }
}
