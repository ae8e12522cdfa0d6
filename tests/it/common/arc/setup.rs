//! What an ARC CE test needs before it starts: the installed packages, the user's X.509
//! certificate and proxy, modes, and log tails for failures.

use super::*;

/// Fails (never skips) when the CE or the clients are not installed: CI installs them.
pub fn check_installed() {
    let mut missing = vec![];
    for cmd in [
        "arched", "arcsub", "arcstat", "arcget", "arcinfo", "arcproxy", "unshare", "mount",
        "openssl", "strip",
    ] {
        if daemon::which(cmd).is_none() && !Path::new("/usr/sbin").join(cmd).is_file() {
            missing.push(format!("command `{cmd}`"));
        }
    }
    for f in [
        "/usr/lib/arc/libarex.so",
        "/usr/lib/arc/libarcshcotokens.so",
        "/usr/lib/arc/libaccARCREST.so",
        "/usr/lib/arc/arcconfig-parser",
        "/usr/share/arc/submit-fork-job",
    ] {
        if !Path::new(f).exists() {
            missing.push(f.to_string());
        }
    }
    if !Path::new(SYSTEM_CA_DIR).is_dir() {
        missing.push(format!("{SYSTEM_CA_DIR} (made by nordugrid-arc-arex)"));
    }
    assert!(
        missing.is_empty(),
        "the ARC CE tests need nordugrid-arc-arex, nordugrid-arc-client, \
         nordugrid-arc-plugins-arcrest, util-linux, openssl and binutils; missing: {}.\n\
         Install them with `bash scripts/test.sh --install-only` (as root or with sudo).",
        missing.join(", ")
    );
    assert_eq!(
        daemon::effective_uid(),
        0,
        "the ARC CE tests run A-REX in a private mount namespace and must run as root"
    );
}

pub(super) fn mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The last `n` lines of a file, for failure messages, without the TCP/TLS chatter that A-REX
/// logs for every connection at VERBOSE.
pub(super) fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("[Arc.MCC.TLS") && !l.contains("[Arc.MCC.TCP]"))
        .collect();
    let skip = lines.len().saturating_sub(n);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("[… {skip} earlier lines]\n"));
    }
    for l in &lines[skip..] {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// A throw-away user CA in the CE's CA directory and a user certificate it signs (RSA: what
/// arcproxy signs proxies with).
pub(super) fn make_user_credentials(root: &Path) {
    let user = root.join("user");
    daemon::run_ok(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            ])
            .args(["-subj", "/O=tok test/CN=tok test user CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(user.join("ca.key"))
            .arg("-out")
            .arg(user.join("ca.pem")),
        "openssl req (user CA)",
    );
    daemon::run_ok(
        Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes"])
            .args(["-subj", "/O=tok test/CN=tok test user"])
            .arg("-keyout")
            .arg(user.join("userkey.pem"))
            .arg("-out")
            .arg(user.join("user.csr")),
        "openssl req (user certificate)",
    );
    std::fs::write(
        user.join("user.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    daemon::run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "3650", "-CAcreateserial"])
            .arg("-in")
            .arg(user.join("user.csr"))
            .arg("-CA")
            .arg(user.join("ca.pem"))
            .arg("-CAkey")
            .arg(user.join("ca.key"))
            .arg("-extfile")
            .arg(user.join("user.ext"))
            .arg("-out")
            .arg(user.join("usercert.pem")),
        "openssl x509 (sign the user certificate)",
    );
    mode(&user.join("userkey.pem"), 0o600);
    std::fs::copy(user.join("ca.pem"), root.join("certs/tok-test-user-ca.pem")).unwrap();
}

/// An RFC 3820 proxy of the user certificate, made by arcproxy offline (no VOMS).
pub(super) fn make_proxy(root: &Path) {
    let user = root.join("user");
    daemon::run_ok(
        Command::new("arcproxy")
            .arg("-C")
            .arg(user.join("usercert.pem"))
            .arg("-K")
            .arg(user.join("userkey.pem"))
            .arg("-T")
            .arg(root.join("certs"))
            .arg("-P")
            .arg(user.join("proxy.pem"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // arcproxy writes a default ~/.arc/client.conf when there is none.
            .env("HOME", root.join("home"))
            .stdin(Stdio::null()),
        "arcproxy",
    );
}
