//! The binary that ships is one static musl executable (issue 17): it loads nothing from the
//! system, so it runs on any x86_64 node, and a host name is resolved without the node's NSS
//! modules (`sss`, `resolve`, `myhostname`, …), which a static glibc binary still loads from the
//! system and which break where their glibc differs from the one tok was built with.

use crate::common::provider::TEST_HOST_NAME;
use crate::common::{tok_bin, Provider, TestEnv};
use std::process::Command;

fn readelf(flag: &str) -> String {
    let out = Command::new("readelf")
        .args([flag, "-W"])
        .arg(tok_bin())
        .output()
        .expect("readelf (binutils) is needed");
    assert!(out.status.success(), "readelf {flag} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_binary_has_no_interpreter_and_needs_no_shared_library() {
    let headers = readelf("-l");
    assert!(!headers.contains("INTERP"), "{headers}");
    let dynamic = readelf("-d");
    assert!(!dynamic.contains("NEEDED"), "{dynamic}");
    // Still position-independent, so ASLR applies to the process that holds refresh tokens.
    assert!(readelf("-h").contains("DYN"), "a static PIE");
}

/// A job's `tok get --credential` whose token endpoint is a host name, on a node whose
/// nsswitch.conf names `sss mymachines resolve myhostname` before `files` (as EL9 hosts with
/// SSSD do): tok resolves the name from /etc/hosts and opens no `libnss_*` module. The node's
/// files are replaced only inside a private mount namespace (root: `unshare -m`), never for
/// the machine; strace records every file the process opens.
#[test]
fn a_host_name_resolves_without_loading_any_nss_module() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root for a private mount namespace (unshare -m)");
        return;
    }
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let cred = env.path().join("job.cred");
    env.run(&[
        "delegate",
        "-s",
        "storage.read:/data",
        "--lifetime",
        "1d",
        "--out",
        cred.to_str().unwrap(),
    ])
    .ok();
    env.stop_agent();
    // The same provider, reached by a name only the private /etc/hosts knows.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cred).unwrap()).unwrap();
    let endpoint = json["token_endpoint"].as_str().unwrap().to_string();
    assert!(endpoint.contains("127.0.0.1"), "{endpoint}");
    json["token_endpoint"] = endpoint.replace("127.0.0.1", TEST_HOST_NAME).into();
    std::fs::write(&cred, serde_json::to_vec(&json).unwrap()).unwrap();

    let nsswitch = env.path().join("nsswitch.conf");
    std::fs::write(
        &nsswitch,
        "passwd: sss files systemd\ngroup: sss files systemd\n\
         hosts: sss mymachines resolve [!UNAVAIL=return] myhostname files dns\n",
    )
    .unwrap();
    let hosts = env.path().join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1 localhost\n127.0.0.1 {TEST_HOST_NAME}\n"),
    )
    .unwrap();
    let trace = env.path().join("openat.trace");
    let script = r#"mount --bind "$1" /etc/nsswitch.conf && mount --bind "$2" /etc/hosts &&
        exec strace -f -qq -e trace=openat,open -o "$3" "$4" get --credential "$5""#;
    let out = env
        .program("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&nsswitch)
        .arg(&hosts)
        .arg(&trace)
        .arg(tok_bin())
        .arg(&cred)
        .env("TOK_NO_AUTOSTART", "1")
        .output()
        .unwrap();
    let trace = std::fs::read_to_string(&trace).unwrap_or_default();
    assert!(
        out.status.success(),
        "tok get --credential through {TEST_HOST_NAME} failed: {}\n{}\nopened:\n{trace}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().len() > 20,
        "a token"
    );
    assert!(
        trace.contains("/etc/hosts"),
        "the name was looked up in /etc/hosts:\n{trace}"
    );
    let modules: Vec<&str> = trace.lines().filter(|l| l.contains("libnss_")).collect();
    assert!(modules.is_empty(), "NSS modules opened: {modules:#?}");
    let libraries: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(".so") && !l.contains("ENOENT"))
        .collect();
    assert!(
        libraries.is_empty(),
        "shared objects opened: {libraries:#?}"
    );
}
