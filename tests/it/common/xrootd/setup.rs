//! What an XRootD test needs before it starts: the installed server, plug-ins and HTTP
//! clients, the server user, and a port that is really free.

use super::*;

pub(super) fn lib_present(name: &str) -> bool {
    [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
    ]
    .iter()
    .any(|d| Path::new(d).join(name).exists())
}

pub(super) fn uid_gid(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() > 3 && f[0] == user {
            Some((f[2].parse().ok()?, f[3].parse().ok()?))
        } else {
            None
        }
    })
}

/// Fails (never skips) when the server side is not installed: CI installs it.
pub fn check_installed() {
    let mut missing = vec![];
    for cmd in ["xrootd", "xrdcp", "setpriv", "cc", "openssl"] {
        if daemon::which(cmd).is_none() {
            missing.push(format!("command `{cmd}`"));
        }
    }
    for lib in [
        "libXrdAccSciTokens-5.so",
        "libXrdSecztn-5.so",
        "libXrdHttp-5.so",
        "libSciTokens.so.0",
    ] {
        if !lib_present(lib) {
            missing.push(lib.to_string());
        }
    }
    if uid_gid(SERVER_USER).is_none() {
        missing.push(format!(
            "user `{SERVER_USER}` (made by the xrootd-server package)"
        ));
    }
    assert!(
        missing.is_empty(),
        "the XRootD tests need xrootd-server, xrootd-server-plugins, xrootd-scitokens-plugins, \
         xrootd-client, scitokens-cpp, util-linux, openssl and a C compiler; missing: {}.\n\
         Install them with `bash scripts/test.sh --install-only` (as root or with sudo).",
        missing.join(", ")
    );
    assert_eq!(
        daemon::effective_uid(),
        0,
        "the XRootD tests start xrootd as the `{SERVER_USER}` user and must run as root"
    );
}

/// Fails (never skips) when the HTTPS clients are not installed: gfal2's `gfal-*` (with its
/// http and file plugins and the Python module the scripts run on) and davix's `davix-*`.
pub fn check_http_clients_installed() {
    let mut missing = vec![];
    for cmd in ["gfal-copy", "gfal-ls", "gfal-rm", "davix-get", "davix-put"] {
        if daemon::which(cmd).is_none() {
            missing.push(format!("command `{cmd}`"));
        }
    }
    for lib in [
        "gfal2-plugins/libgfal_plugin_http.so",
        "gfal2-plugins/libgfal_plugin_file.so",
    ] {
        if !lib_present(lib) {
            missing.push(lib.to_string());
        }
    }
    let imports = Command::new(GFAL_PYTHON)
        .args(["-c", "import gfal2, gfal2_util"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !imports.is_ok_and(|s| s.success()) {
        missing.push(format!(
            "{GFAL_PYTHON} with the modules gfal2 and gfal2_util"
        ));
    }
    assert!(
        missing.is_empty(),
        "the gfal2/davix tests need gfal2, gfal2-plugin-http, gfal2-plugin-file, python3-gfal2, \
         python3-gfal2-util, gfal2-util-scripts and davix; missing: {}.\n\
         Install them with `bash scripts/test.sh --install-only` (as root or with sudo).",
        missing.join(", ")
    );
}

pub(super) fn port_in_use(log: &str) -> bool {
    log.to_lowercase().contains("address already in use")
}

pub(super) fn chown_tree(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}
