//! `tok exec` through exec wrappers (issue 21, item 6): `tok exec -- timeout 90 gfal-copy …`
//! must give gfal2 its `BEARER_TOKEN` as `tok exec -- gfal-copy …` does, for every wrapper in
//! `src/wrappers/mod.rs` that this machine has, with the real gfal2 against XRootD's XrdHttp
//! (the setup of `grid_clients`). apptainer and singularity are not installed: a stub that
//! `exec`s the command after the image stands in for them, which is what they do with the
//! environment unless told to clean it.

use super::grid_clients::{lines_with, setup, Grid, AUD, BEARER_NOTE};
use crate::common::xrootd::DATA_F;
use std::os::unix::fs::PermissionsExt;

/// `apptainer exec [OPTIONS] IMAGE COMMAND…` on the host, environment kept.
const STUB_APPTAINER: &str = r#"#!/bin/sh
[ "$1" = exec ] || { echo "stub apptainer: only exec is supported" >&2; exit 2; }
shift
while [ $# -gt 0 ]; do
    case $1 in
        -B|--bind|-W|--workdir|--env|-H|--home) shift 2 ;;
        --) shift; break ;;
        -*) shift ;;
        *) break ;;
    esac
done
[ $# -ge 2 ] || { echo "stub apptainer: no image or no command" >&2; exit 2; }
shift
exec "$@"
"#;

/// PATH with the stub container runtimes first (and tok's directory, as the sealed env has it).
fn path_with_stubs(g: &Grid) -> String {
    let stubs = g.path("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    for name in ["apptainer", "singularity"] {
        let p = stubs.join(name);
        std::fs::write(&p, STUB_APPTAINER).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let tok_dir = crate::common::tok_bin().parent().unwrap().to_path_buf();
    format!(
        "{}:{}:{}",
        stubs.display(),
        tok_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn have(program: &str) -> bool {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .any(|d| std::path::Path::new(d).join(program).is_file())
}

#[test]
fn tok_exec_sees_gfal_through_exec_wrappers() {
    let g = setup();
    let path = path_with_stubs(&g);
    let url = g.server.davs_url("/data/f");
    let tok = crate::common::tok_bin();
    // Each wrapper as people write it: options with values attached or not, operands.
    let mut cases: Vec<(&[&str], &str)> = vec![
        (&["timeout", "90"], "timeout"),
        (&["timeout", "-s", "KILL", "-k5", "90s"], "timeout"),
        (&["nice", "-n", "5"], "nice"),
        (&["ionice", "-c", "3"], "ionice"),
        (&["env", "-u", "X", "A=B"], "env"),
        (&["stdbuf", "-oL"], "stdbuf"),
        (&["nohup"], "nohup"),
        (&["setsid", "-w"], "setsid"),
        (&["taskset", "-c", "0"], "taskset"),
        (&["chrt", "-b", "0"], "chrt"),
        (
            &["apptainer", "exec", "--bind", "/a:/b", "img.sif"],
            "apptainer",
        ),
        (
            &["singularity", "exec", "-B", "/cvmfs", "img.sif"],
            "singularity",
        ),
        (
            &[
                "timeout", "90", "nice", "-n", "5", "env", "A=1", "stdbuf", "-oL",
            ],
            "timeout, nice, env, stdbuf",
        ),
    ];
    // GNU time and numactl come with scripts/test.sh; elsewhere they may be missing.
    for (wrapper, case) in [
        ("time", &["time", "-p"] as &[&str]),
        ("numactl", &["numactl", "--localalloc"]),
    ] {
        if have(wrapper) {
            cases.push((case, wrapper));
        } else {
            eprintln!("skipping {wrapper}: not installed (scripts/test.sh installs it)");
        }
    }
    for (i, (wrapper, through)) in cases.iter().enumerate() {
        let dest = format!("wrapped-{i}");
        let file_url = g.file_url(&dest);
        let mut args = vec!["exec", "-s", "storage.read:/data", "--aud", AUD, "--"];
        args.extend_from_slice(wrapper);
        args.extend_from_slice(&["gfal-copy", &url, &file_url]);
        let out = g.run(tok.to_str().unwrap(), &args, &[("PATH", &path)]);
        let what = format!("tok exec -- {} gfal-copy", wrapper.join(" "));
        g.ok(&out, &what);
        g.holds(&out, &g.path(&dest), DATA_F);
        let notes = lines_with(&out.stderr, BEARER_NOTE);
        let named = format!("gfal-copy (run through {through})");
        assert!(
            notes.len() == 1 && notes[0].contains(&named),
            "{what}: tok should say once that it exported BEARER_TOKEN for {named}\n{out}"
        );
    }

    // gfal-ls too, and the wrapper's exit code is the command's.
    let out = g.run(
        tok.to_str().unwrap(),
        &[
            "exec",
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--",
            "timeout",
            "60",
            "gfal-ls",
            &g.server.davs_url("/data"),
        ],
        &[("PATH", &path)],
    );
    g.ok(&out, "tok exec -- timeout 60 gfal-ls");
    assert_eq!(out.stdout.trim(), "f", "{out}");

    // What the wrappers run decides, not that they are wrappers: a shell behind timeout still
    // gets only the file, and --file-only still wins.
    let script = format!("gfal-ls {}", g.server.davs_url("/data"));
    let out = g.tok(&[
        "exec",
        "-s",
        "storage.read:/data",
        "--aud",
        AUD,
        "--",
        "timeout",
        "60",
        "sh",
        "-c",
        &script,
    ]);
    g.refused(&out, "tok exec -- timeout 60 sh -c 'gfal-ls …'");
    assert!(lines_with(&out.stderr, BEARER_NOTE).is_empty(), "{out}");
    let out = g.tok(&[
        "exec",
        "--file-only",
        "-s",
        "storage.read:/data",
        "--aud",
        AUD,
        "--",
        "nice",
        "gfal-ls",
        &g.server.davs_url("/data"),
    ]);
    g.refused(&out, "tok exec --file-only -- nice gfal-ls");
}
