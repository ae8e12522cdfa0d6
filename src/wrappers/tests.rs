//! Unit tests of `wrappers`: for each wrapper, its options (flags, valued ones attached or in
//! the next word, clusters), its operands and `--`, down to the command it runs (issue 21).

use super::*;

fn words(line: &str) -> Vec<OsString> {
    line.split(' ').map(OsString::from).collect()
}

/// The program `line` really runs.
#[track_caller]
fn runs(line: &str) -> String {
    unwrap(&words(line)).program.to_string_lossy().into_owned()
}

/// `line` runs gfal-copy, and through `through`.
#[track_caller]
fn gfal_through(line: &str, through: &[&str]) {
    let u = unwrap(&words(line));
    assert_eq!(u.program, OsString::from("gfal-copy"), "{line}");
    assert_eq!(u.through, through, "{line}");
}

#[test]
fn a_command_that_is_no_wrapper_is_itself() {
    assert_eq!(runs("gfal-copy a b"), "gfal-copy");
    assert_eq!(runs("/usr/bin/xrdcp a b"), "/usr/bin/xrdcp");
    assert!(unwrap(&words("gfal-copy a b")).through.is_empty());
    assert_eq!(unwrap(&[]).program, OsString::new());
}

#[test]
fn timeout_skips_its_options_and_the_duration() {
    gfal_through("timeout 90 gfal-copy a b", &["timeout"]);
    gfal_through("/usr/bin/timeout 90 gfal-copy a b", &["timeout"]);
    gfal_through("timeout -s KILL 90 gfal-copy a b", &["timeout"]);
    gfal_through("timeout -sKILL -k 5 90s gfal-copy", &["timeout"]);
    gfal_through(
        "timeout --signal KILL --kill-after=5 90 gfal-copy",
        &["timeout"],
    );
    gfal_through(
        "timeout --preserve-status --foreground -v 1m gfal-copy",
        &["timeout"],
    );
    gfal_through("timeout -- 90 gfal-copy", &["timeout"]);
    // No command: the wrapper itself.
    assert_eq!(runs("timeout 90"), "timeout");
    assert_eq!(runs("timeout -s KILL"), "timeout");
}

#[test]
fn nice_skips_the_adjustment_in_every_form() {
    gfal_through("nice gfal-copy", &["nice"]);
    gfal_through("nice -n 5 gfal-copy", &["nice"]);
    gfal_through("nice -n5 gfal-copy", &["nice"]);
    gfal_through("nice --adjustment=5 gfal-copy", &["nice"]);
    gfal_through("nice --adjustment 5 gfal-copy", &["nice"]);
    gfal_through("nice -10 gfal-copy", &["nice"]);
    gfal_through("nice -n -5 gfal-copy", &["nice"]);
}

#[test]
fn ionice_skips_class_and_level_and_runs_nothing_for_a_pid() {
    gfal_through("ionice -c 3 gfal-copy", &["ionice"]);
    gfal_through("ionice -c2 -n7 -t gfal-copy", &["ionice"]);
    gfal_through("ionice --class idle --classdata 0 gfal-copy", &["ionice"]);
    assert_eq!(runs("ionice -c 3 -p 1234"), "ionice");
    assert_eq!(runs("ionice -p 1234 5678"), "ionice");
    assert_eq!(runs("ionice --uid 1000"), "ionice");
}

#[test]
fn env_skips_options_unsets_and_assignments() {
    gfal_through("env VAR=x gfal-copy", &["env"]);
    gfal_through("env A=1 B= gfal-copy a", &["env"]);
    gfal_through("env -u X A=B gfal-copy", &["env"]);
    gfal_through("env -uX --unset=Y --unset Z gfal-copy", &["env"]);
    gfal_through("env -i PATH=/bin gfal-copy", &["env"]);
    gfal_through("env - PATH=/bin gfal-copy", &["env"]);
    gfal_through("env -C /tmp gfal-copy", &["env"]);
    gfal_through("env --chdir=/tmp -0 -v gfal-copy", &["env"]);
    gfal_through("env --ignore-signal=INT gfal-copy", &["env"]);
    gfal_through("env -- A=1 gfal-copy", &["env"]);
    // -S splits its value into arguments, which may hold options and assignments.
    let u = unwrap(&[
        OsString::from("env"),
        OsString::from("-S"),
        OsString::from("-u X A=1 gfal-copy -v"),
        OsString::from("src"),
    ]);
    assert_eq!(u.program, OsString::from("gfal-copy"));
    let u = unwrap(&[
        OsString::from("/usr/bin/env"),
        OsString::from("-Sgfal-copy -v"),
    ]);
    assert_eq!(u.program, OsString::from("gfal-copy"));
    // Only assignments: env prints the environment.
    assert_eq!(runs("env A=1"), "env");
    assert_eq!(runs("env"), "env");
}

#[test]
fn time_skips_format_and_output() {
    gfal_through("time gfal-copy", &["time"]);
    gfal_through("time -p gfal-copy", &["time"]);
    gfal_through("time -f %e -o t.log -a gfal-copy", &["time"]);
    gfal_through("time --format=%e --output t.log gfal-copy", &["time"]);
    gfal_through("/usr/bin/time -v gfal-copy", &["time"]);
}

#[test]
fn stdbuf_skips_its_modes() {
    gfal_through("stdbuf -oL gfal-copy", &["stdbuf"]);
    gfal_through("stdbuf -o L -e 0 gfal-copy", &["stdbuf"]);
    gfal_through("stdbuf --output=L --error 0 -i0 gfal-copy", &["stdbuf"]);
}

#[test]
fn nohup_and_setsid_run_their_first_operand() {
    gfal_through("nohup gfal-copy a", &["nohup"]);
    gfal_through("setsid gfal-copy a", &["setsid"]);
    gfal_through("setsid -f -w gfal-copy a", &["setsid"]);
    gfal_through("setsid -cfw gfal-copy a", &["setsid"]);
    gfal_through("setsid --wait --fork gfal-copy a", &["setsid"]);
}

#[test]
fn taskset_skips_the_mask_or_list_and_runs_nothing_for_a_pid() {
    gfal_through("taskset 0x1 gfal-copy", &["taskset"]);
    gfal_through("taskset -c 0 gfal-copy", &["taskset"]);
    gfal_through("taskset -a -c 0-3,7 gfal-copy", &["taskset"]);
    gfal_through("taskset --cpu-list 0 gfal-copy", &["taskset"]);
    assert_eq!(runs("taskset -p 0x1 1234"), "taskset");
    assert_eq!(runs("taskset -pc 0 1234"), "taskset");
    assert_eq!(runs("taskset -ap 1234"), "taskset");
}

#[test]
fn chrt_skips_the_policy_and_priority() {
    gfal_through("chrt 0 gfal-copy", &["chrt"]);
    gfal_through("chrt -b 0 gfal-copy", &["chrt"]);
    gfal_through("chrt --idle 0 gfal-copy", &["chrt"]);
    gfal_through("chrt -d -T 1000 -P 2000 -D 2000 0 gfal-copy", &["chrt"]);
    gfal_through("chrt -r -R 10 gfal-copy", &["chrt"]);
    assert_eq!(runs("chrt -p 1234"), "chrt");
    assert_eq!(runs("chrt -m"), "chrt");
}

#[test]
fn numactl_skips_its_policies() {
    gfal_through("numactl -l gfal-copy", &["numactl"]);
    gfal_through("numactl --interleave=all gfal-copy", &["numactl"]);
    gfal_through("numactl -i all -N 0 gfal-copy", &["numactl"]);
    gfal_through(
        "numactl --cpunodebind 0 --membind=0 gfal-copy",
        &["numactl"],
    );
    gfal_through("numactl -C 0-3 -m0 gfal-copy", &["numactl"]);
    assert_eq!(runs("numactl --hardware"), "numactl");
    assert_eq!(runs("numactl -s"), "numactl");
}

#[test]
fn apptainer_exec_skips_its_options_and_the_image() {
    gfal_through("apptainer exec img.sif gfal-copy", &["apptainer"]);
    gfal_through("singularity exec img.sif gfal-copy", &["singularity"]);
    gfal_through(
        "apptainer exec --bind a:b -B c:d img.sif gfal-copy",
        &["apptainer"],
    );
    gfal_through(
        "apptainer exec --bind=a:b --cleanenv -eC --env A=1 --home /h img.sif gfal-copy",
        &["apptainer"],
    );
    gfal_through(
        "apptainer -d --quiet exec --nv -W /w docker://alma:9 gfal-copy",
        &["apptainer"],
    );
    gfal_through(
        "apptainer --config f.conf exec i.sif gfal-copy",
        &["apptainer"],
    );
    gfal_through("apptainer exec -- i.sif gfal-copy", &["apptainer"]);
    // Only `exec` runs a command given on the command line.
    assert_eq!(runs("apptainer run img.sif gfal-copy"), "apptainer");
    assert_eq!(runs("apptainer shell img.sif"), "apptainer");
    assert_eq!(runs("apptainer exec img.sif"), "apptainer");
    assert_eq!(runs("apptainer --debug"), "apptainer");
}

#[test]
fn wrappers_nest() {
    gfal_through(
        "timeout 90 nice -n 5 env A=1 stdbuf -oL gfal-copy a b",
        &["timeout", "nice", "env", "stdbuf"],
    );
    gfal_through(
        "nohup apptainer exec -B /cvmfs i.sif time -p gfal-copy",
        &["nohup", "apptainer", "time"],
    );
    // Not followed without end.
    let deep = format!("{}gfal-copy", "nice ".repeat(MAX_DEPTH + 2));
    assert_eq!(unwrap(&words(&deep)).through.len(), MAX_DEPTH);
}

#[test]
fn a_shell_or_an_unknown_wrapper_is_not_looked_into() {
    assert_eq!(runs("sh -c gfal-copy"), "sh");
    assert_eq!(runs("sudo gfal-copy"), "sudo");
    assert_eq!(runs("xargs gfal-copy"), "xargs");
}

#[test]
fn non_utf8_arguments_are_no_trouble() {
    use std::os::unix::ffi::OsStringExt;
    let u = unwrap(&[
        OsString::from("env"),
        OsString::from_vec(b"A=\xff".to_vec()),
        OsString::from("gfal-copy"),
        OsString::from_vec(b"\xfe".to_vec()),
    ]);
    assert_eq!(u.program, OsString::from("gfal-copy"));
}

/// The README's wrapper table is rendered from `WRAPPERS`; regenerate it with
/// `TOK_REGENERATE=1 cargo test --lib wrappers`.
#[test]
fn the_readme_table_is_up_to_date() {
    crate::readme_sections::check(
        "wrappers",
        "src/wrappers/mod.rs",
        &readme_table(),
        "TOK_REGENERATE=1 cargo test --lib wrappers",
    );
}
