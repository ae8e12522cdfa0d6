//! Grid clients that do not follow WLCG Bearer Token Discovery, run for real against the XRootD
//! test server's HTTPS port (XrdHttp with the SciTokens plugin, trusting the test provider):
//!
//! | client | channel it reads |
//! | --- | --- |
//! | `gfal-copy`/`gfal-ls`/`gfal-rm` (gfal2 2.21, gfal2-util 1.8) | `BEARER_TOKEN` only, once at start, untrimmed |
//! | `davix-get`/`davix-put` (davix 0.8) | only `-H "Authorization: Bearer …"` |
//!
//! Each client family is checked twice: first the raw fact with the client alone (a token set by
//! hand), so that a change in Debian's packages shows up here as a broken fact and not as a
//! puzzling tok failure; then what tok does for that client (`tok exec` exports `BEARER_TOKEN`
//! to `gfal-*` and tells a davix user how to pass a header; `eval "$(tok env)"` exports both
//! channels). Traps kept in mind (REFERENCE, "XRootD + SciTokens"):
//! - gfal-copy stats the destination before an upload and gfal-rm looks up what it deletes, so
//!   both need `storage.read` beside `storage.create`/`storage.modify` (or, for the upload,
//!   `--just-copy`).
//! - The server caches what a token grants for 60 s, even past its expiry: no case relies on
//!   expiry; every refusal comes from the scope, the audience or the lack of a token.
//! - Scope paths match by plain prefix: the paths used (`/data`, `/other`, `/store`) share none.
//! - No stray token: each run gets the sealed `TestEnv` (private `XDG_RUNTIME_DIR`, no
//!   `BEARER_TOKEN*` unless a case sets it). gfal and davix read no token file at all (checked
//!   below with a valid `$XDG_RUNTIME_DIR/bt_u$UID`), and the one xrdcp run always has a token
//!   by variable or file, so a leftover `/tmp/bt_u$UID` cannot turn a refusal into a success.
//!   None is written there: it would leak into every other test on this machine.
//! - One server and one login per test; the four tests run in parallel.

use crate::common::xrootd::{self, XrootdServer, DATA_F, STORE_EXISTING};
use crate::common::{wait_with_timeout, Approval, Out, Provider, TestEnv};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub(crate) const AUD: &str = "https://storage.tok-test.example";
/// A concrete audience the server does not accept (the "any" audience would be accepted).
const FOREIGN_AUD: &str = "https://other.example.org";
/// What the tests' account may ask for: read everywhere, write and delete under `/store`.
const LOGIN_SCOPES: &str = "storage.read:/ storage.create:/store storage.modify:/store";
/// The line tok prints when it exports BEARER_TOKEN for a client that reads only the variable.
pub(crate) const BEARER_NOTE: &str = "BEARER_TOKEN";

pub(crate) struct Grid {
    _provider: Provider,
    pub(crate) env: TestEnv,
    pub(crate) server: XrootdServer,
}

pub(crate) fn setup() -> Grid {
    // Missing packages fail here, loudly, before anything else starts.
    xrootd::check_installed();
    xrootd::check_http_clients_installed();
    let provider = Provider::start();
    let server = XrootdServer::start(&provider, AUD, "/");
    let mut env = TestEnv::new();
    for (k, v) in server.client_env() {
        env.set_env(&k, v);
    }
    // `tok env` picks its syntax from $SHELL, as in a user's bash.
    env.set_env("SHELL", "/bin/bash");
    env.login(
        &provider,
        &["cms", "--issuer", &provider.issuer, "--scope", LOGIN_SCOPES],
        Approval::Approve,
    )
    .ok();
    Grid {
        _provider: provider,
        env,
        server,
    }
}

impl Grid {
    /// `program args` in the sealed environment (tok on PATH, the server's client env) plus
    /// `vars`; an empty value unsets the variable.
    pub(crate) fn run(&self, program: &str, args: &[&str], vars: &[(&str, &str)]) -> Out {
        let mut cmd = self.env.program(program);
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in vars {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let out = wait_with_timeout(child, Duration::from_secs(120));
        Out {
            what: describe(program, args, vars),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `tok ARGS` in the sealed environment.
    pub(crate) fn tok(&self, args: &[&str]) -> Out {
        self.run(crate::common::tok_bin().to_str().unwrap(), args, &[])
    }

    /// A bash script in the sealed environment, as a user's shell would run it.
    fn bash(&self, script: &str, vars: &[(&str, &str)]) -> Out {
        self.run("bash", &["-c", script], vars)
    }

    fn token(&self, scope: &str, aud: &str) -> String {
        self.env.token(&["--scope", scope, "--aud", aud])
    }

    #[track_caller]
    pub(crate) fn ok(&self, out: &Out, why: &str) {
        if out.code != Some(0) {
            self.server.fail(&format!("should work: {why}"), out);
        }
    }

    /// Refused by the server: a non-zero exit and the refusal (`HTTP 403`) in the client's
    /// words, not some other failure (connection, TLS, usage).
    #[track_caller]
    pub(crate) fn refused(&self, out: &Out, why: &str) {
        if out.code == Some(0) || out.code.is_none() {
            self.server.fail(&format!("should be refused: {why}"), out);
        }
        if !out.stderr.contains("403") {
            self.server
                .fail(&format!("should be refused with HTTP 403: {why}"), out);
        }
    }

    /// `dest` holds exactly `want`.
    #[track_caller]
    pub(crate) fn holds(&self, out: &Out, dest: &Path, want: &[u8]) {
        let got = std::fs::read(dest).unwrap_or_default();
        if got != want {
            self.server.fail(
                &format!(
                    "{} should hold {} bytes, holds {}",
                    dest.display(),
                    want.len(),
                    got.len()
                ),
                out,
            );
        }
    }

    /// Nothing was written to `dest`: missing, or empty (davix-get leaves an empty file behind).
    #[track_caller]
    fn lacks(&self, out: &Out, dest: &Path) {
        let got = std::fs::read(dest).unwrap_or_default();
        if !got.is_empty() {
            self.server.fail(
                &format!("{} should not have been written", dest.display()),
                out,
            );
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.env.path().join(name)
    }

    pub(crate) fn file_url(&self, name: &str) -> String {
        format!("file://{}", self.path(name).display())
    }
}

/// The command line for a failure message; tokens (JWTs) are shortened, scripts kept whole.
fn describe(program: &str, args: &[&str], vars: &[(&str, &str)]) -> String {
    let short = |s: &str| {
        if s.starts_with("eyJ") && s.len() > 80 {
            format!("<{} chars: {}…>", s.len(), &s[..20])
        } else {
            s.to_string()
        }
    };
    let mut parts: Vec<String> = vars
        .iter()
        .map(|(k, v)| format!("{k}={}", short(v)))
        .collect();
    parts.push(program.to_string());
    parts.extend(args.iter().map(|a| short(a)));
    parts.join(" ")
}

/// A token file as the discovery readers want it: 0600, the token and a newline.
fn token_file(path: &Path, token: &str) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    writeln!(f, "{token}").unwrap();
}

/// `$XDG_RUNTIME_DIR/bt_u$UID` of the sealed environment (step 3 of discovery).
fn discovery_file(g: &Grid) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    g.path(&format!("run/bt_u{uid}"))
}

/// Lines of tok's (or anyone's) stderr that mention `needle`.
pub(crate) fn lines_with<'a>(stderr: &'a str, needle: &str) -> Vec<&'a str> {
    stderr.lines().filter(|l| l.contains(needle)).collect()
}

/// Raw facts about gfal2, tok not involved: only `BEARER_TOKEN` counts, exactly as set.
#[test]
fn gfal_reads_only_the_bearer_token_variable() {
    let g = setup();
    let s = &g.server;
    let token = g.token("storage.read:/data", AUD);
    let dir_url = s.davs_url("/data");
    let f_url = s.davs_url("/data/f");

    let out = g.run("gfal-ls", &[&dir_url], &[("BEARER_TOKEN", &token)]);
    g.ok(&out, "gfal-ls with BEARER_TOKEN");
    assert_eq!(out.stdout.trim(), "f", "gfal-ls lists /data\n{out}");

    let dest = g.path("by-variable");
    let out = g.run(
        "gfal-copy",
        &[&f_url, &g.file_url("by-variable")],
        &[("BEARER_TOKEN", &token)],
    );
    g.ok(&out, "gfal-copy with BEARER_TOKEN");
    g.holds(&out, &dest, DATA_F);
    // The https:// spelling reaches the same plugin.
    let out = g.run(
        "gfal-ls",
        &[&s.https_url("/data/")],
        &[("BEARER_TOKEN", &token)],
    );
    g.ok(&out, "gfal-ls https:// with BEARER_TOKEN");

    // The same valid token as a file, by BEARER_TOKEN_FILE or at the discovery location: not read.
    let file = g.path("token-file");
    token_file(&file, &token);
    let out = g.run(
        "gfal-ls",
        &[&dir_url],
        &[("BEARER_TOKEN_FILE", file.to_str().unwrap())],
    );
    g.refused(
        &out,
        "gfal-ls with only BEARER_TOKEN_FILE (gfal2 ignores it)",
    );
    let discovery = discovery_file(&g);
    token_file(&discovery, &token);
    let out = g.run("gfal-ls", &[&dir_url], &[]);
    std::fs::remove_file(&discovery).unwrap();
    g.refused(
        &out,
        "gfal-ls with only $XDG_RUNTIME_DIR/bt_u$UID (gfal2 ignores it)",
    );

    // Not trimmed: the header then carries the newline and XrdHttp rejects the request.
    let out = g.run(
        "gfal-ls",
        &[&dir_url],
        &[("BEARER_TOKEN", &format!("{token}\n"))],
    );
    if out.code == Some(0) || !out.stderr.contains("HTTP 400") {
        s.fail(
            "a trailing newline in BEARER_TOKEN should make the server answer 400",
            &out,
        );
    }

    // No token at all: Debian's RETRIEVE_BEARER_TOKEN=true first asks the storage for one
    // (a macaroon request, 501 from XRootD), then goes on without and is refused. gfal's -vvv
    // log goes to stdout when that is not a terminal.
    let out = g.run("gfal-ls", &["-vvv", &dir_url], &[]);
    g.refused(&out, "gfal-ls without a token");
    let log = format!("{}{}", out.stdout, out.stderr);
    if !log.contains("application/macaroon-request") || !log.contains("HTTP/1.1 501") {
        s.fail(
            "Debian's gfal2 should first ask the storage for a token (RETRIEVE_BEARER_TOKEN)",
            &out,
        );
    }

    // An upload stats the destination first: storage.create alone is refused unless
    // --just-copy skips that stat.
    std::fs::write(g.path("src"), b"uploaded by gfal-copy\n").unwrap();
    let create = g.token("storage.create:/store", AUD);
    let out = g.run(
        "gfal-copy",
        &[&g.file_url("src"), &s.davs_url("/store/stat-first")],
        &[("BEARER_TOKEN", &create)],
    );
    g.refused(&out, "gfal-copy upload with storage.create only (stat)");
    g.lacks(&out, &s.local_path("/store/stat-first"));
    let out = g.run(
        "gfal-copy",
        &[
            "--just-copy",
            &g.file_url("src"),
            &s.davs_url("/store/just-copy"),
        ],
        &[("BEARER_TOKEN", &create)],
    );
    g.ok(&out, "gfal-copy --just-copy upload with storage.create");
    g.holds(
        &out,
        &s.local_path("/store/just-copy"),
        b"uploaded by gfal-copy\n",
    );

    // gfal-rm looks the file up before deleting it: storage.modify alone is refused.
    let modify = g.token("storage.modify:/store", AUD);
    let out = g.run(
        "gfal-rm",
        &[&s.davs_url("/store/existing")],
        &[("BEARER_TOKEN", &modify)],
    );
    g.refused(&out, "gfal-rm with storage.modify only (lookup)");
    if !s.local_path("/store/existing").exists() {
        s.fail("/store/existing should still be there", &out);
    }
}

/// `tok exec -- gfal-*`: tok exports BEARER_TOKEN (bare) beside BEARER_TOKEN_FILE, and says so.
#[test]
fn tok_exec_gives_gfal_the_bearer_token_variable() {
    let g = setup();
    let s = &g.server;
    let read_data = ["exec", "-s", "storage.read:/data", "--aud", AUD, "--"];
    let f_url = s.davs_url("/data/f");
    let with = |pre: &[&str], rest: &[&str]| -> Vec<String> {
        pre.iter().chain(rest).map(|a| a.to_string()).collect()
    };
    let tok = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        g.tok(&args)
    };

    // Read: gfal-copy to a local file, said once on stderr.
    let dest = g.path("x");
    let out = tok(with(&read_data, &["gfal-copy", &f_url, &g.file_url("x")]));
    g.ok(&out, "tok exec -- gfal-copy (read)");
    g.holds(&out, &dest, DATA_F);
    let notes = lines_with(&out.stderr, BEARER_NOTE);
    assert_eq!(
        notes.len(),
        1,
        "tok should say once that it exported BEARER_TOKEN\n{out}"
    );

    // List, the program named by a path (matched on its base name).
    let out = tok(with(
        &read_data,
        &["/usr/bin/gfal-ls", &s.davs_url("/data")],
    ));
    g.ok(&out, "tok exec -- /usr/bin/gfal-ls");
    assert_eq!(out.stdout.trim(), "f", "gfal-ls lists /data\n{out}");

    // What a gfal-* program really gets: the bare token, and the file too.
    let bin = g.path("bin");
    std::fs::create_dir(&bin).unwrap();
    let probe = bin.join("gfal-probe");
    std::fs::write(
        &probe,
        "#!/bin/sh\nprintf 'BT=[%s]\\n' \"$BEARER_TOKEN\"\nprintf 'BTF=[%s]\\n' \"$(cat \"$BEARER_TOKEN_FILE\")\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = tok(with(&read_data, &[probe.to_str().unwrap()]));
    g.ok(&out, "tok exec -- gfal-probe");
    let token = g.token("storage.read:/data", AUD);
    assert!(
        out.stdout.contains(&format!("BT=[{token}]\n")),
        "BEARER_TOKEN should be the bare token, as `tok get` prints it without its newline\n{out}"
    );
    assert!(
        out.stdout.contains(&format!("BTF=[{token}]\n")),
        "BEARER_TOKEN_FILE should hold the same token\n{out}"
    );

    // Upload and delete with storage.modify (+ storage.read: both stat first).
    let modify = [
        "exec",
        "-s",
        "storage.read:/store storage.modify:/store",
        "--aud",
        AUD,
        "--",
    ];
    std::fs::write(g.path("src"), b"uploaded through tok exec\n").unwrap();
    let out = tok(with(
        &modify,
        &["gfal-copy", &g.file_url("src"), &s.davs_url("/store/up")],
    ));
    g.ok(&out, "tok exec -- gfal-copy upload with storage.modify");
    g.holds(
        &out,
        &s.local_path("/store/up"),
        b"uploaded through tok exec\n",
    );
    assert_eq!(
        std::fs::read(s.local_path("/store/existing")).unwrap(),
        STORE_EXISTING
    );
    let out = tok(with(&modify, &["gfal-rm", &s.davs_url("/store/existing")]));
    g.ok(&out, "tok exec -- gfal-rm with storage.modify");
    if s.local_path("/store/existing").exists() {
        s.fail("gfal-rm should have deleted /store/existing", &out);
    }

    // A token for another path, or another audience: refused, nothing read or written.
    let out = tok(with(
        &["exec", "-s", "storage.read:/other", "--aud", AUD, "--"],
        &["gfal-copy", &f_url, &g.file_url("wrong-scope")],
    ));
    g.refused(&out, "tok exec gfal-copy with storage.read:/other");
    g.lacks(&out, &g.path("wrong-scope"));
    assert_eq!(lines_with(&out.stderr, BEARER_NOTE).len(), 1, "{out}");
    let out = tok(with(
        &[
            "exec",
            "-s",
            "storage.read:/data",
            "--aud",
            FOREIGN_AUD,
            "--",
        ],
        &["gfal-copy", &f_url, &g.file_url("wrong-aud")],
    ));
    g.refused(&out, "tok exec gfal-copy with a token for another audience");
    g.lacks(&out, &g.path("wrong-aud"));
    let out = tok(with(
        &["exec", "-s", "storage.read:/store", "--aud", AUD, "--"],
        &[
            "gfal-copy",
            "--just-copy",
            &g.file_url("src"),
            &s.davs_url("/store/read-only"),
        ],
    ));
    g.refused(&out, "tok exec gfal-copy upload with storage.read only");
    g.lacks(&out, &s.local_path("/store/read-only"));

    // --file-only: no BEARER_TOKEN, so gfal has no token.
    let out = tok(with(
        &[
            "exec",
            "--file-only",
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--",
        ],
        &["gfal-ls", &s.davs_url("/data")],
    ));
    g.refused(&out, "tok exec --file-only -- gfal-ls");

    // Another program (here sh) gets BEARER_TOKEN only with --inline.
    let script = format!("gfal-ls {}", s.davs_url("/data"));
    let out = tok(with(&read_data, &["sh", "-c", &script]));
    g.refused(&out, "tok exec -- sh -c 'gfal-ls …' without --inline");
    let out = tok(with(
        &[
            "exec",
            "--inline",
            "-s",
            "storage.read:/data",
            "--aud",
            AUD,
            "--",
        ],
        &["sh", "-c", &script],
    ));
    g.ok(&out, "tok exec --inline -- sh -c 'gfal-ls …'");
    assert_eq!(out.stdout.trim(), "f", "{out}");
}

/// `eval "$(tok env …)"` in bash: both channels by default, one with --file-only or --inline.
#[test]
fn tok_env_serves_gfal_and_xrdcp_alike() {
    let g = setup();
    let s = &g.server;
    let sel = format!("-s storage.read:/data --aud {AUD}");
    let ls = format!("gfal-ls {}", s.davs_url("/data"));
    let xrdcp = |dest: &str| {
        format!(
            "xrdcp -f -N {} {}",
            s.url("/data/f"),
            g.path(dest).display()
        )
    };

    // Default: BEARER_TOKEN_FILE and BEARER_TOKEN (the same token, no newline), replacing stale
    // values; plain gfal-ls, gfal-copy and xrdcp work after it.
    let script = format!(
        r#"set -u
eval "$(tok env {sel})" || {{ echo "tok env failed" >&2; exit 10; }}
test -s "$BEARER_TOKEN_FILE" || {{ echo "no BEARER_TOKEN_FILE" >&2; exit 11; }}
test "$BEARER_TOKEN" = "$(cat "$BEARER_TOKEN_FILE")" || {{ echo "BEARER_TOKEN differs from the file" >&2; exit 12; }}
case "$BEARER_TOKEN" in *[[:space:]]*) echo "whitespace in BEARER_TOKEN" >&2; exit 13;; esac
{ls} || {{ echo "gfal-ls failed" >&2; exit 14; }}
gfal-copy {f} {dest} || {{ echo "gfal-copy failed" >&2; exit 15; }}
{xrdcp} || {{ echo "xrdcp failed" >&2; exit 16; }}
"#,
        f = s.davs_url("/data/f"),
        dest = g.file_url("by-gfal"),
        xrdcp = xrdcp("by-xrdcp"),
    );
    let out = g.bash(
        &script,
        &[
            ("BEARER_TOKEN", "stale-garbage"),
            ("BEARER_TOKEN_FILE", "/nonexistent/stale"),
        ],
    );
    g.ok(&out, "eval \"$(tok env)\" then gfal-ls, gfal-copy, xrdcp");
    g.holds(&out, &g.path("by-gfal"), DATA_F);
    g.holds(&out, &g.path("by-xrdcp"), DATA_F);

    // --file-only: only the file (a stale BEARER_TOKEN is unset): xrdcp reads, gfal cannot.
    let script = format!(
        r#"set -u
eval "$(tok env --file-only {sel})" || {{ echo "tok env failed" >&2; exit 10; }}
test -z "${{BEARER_TOKEN+set}}" || {{ echo "BEARER_TOKEN still set" >&2; exit 11; }}
test -s "$BEARER_TOKEN_FILE" || {{ echo "no BEARER_TOKEN_FILE" >&2; exit 12; }}
{xrdcp} || {{ echo "xrdcp failed" >&2; exit 13; }}
{ls} && {{ echo "gfal-ls worked without BEARER_TOKEN" >&2; exit 14; }}
exit 0
"#,
        xrdcp = xrdcp("file-only-xrdcp"),
    );
    let out = g.bash(&script, &[("BEARER_TOKEN", "stale-garbage")]);
    g.ok(&out, "eval \"$(tok env --file-only)\"");
    g.holds(&out, &g.path("file-only-xrdcp"), DATA_F);
    assert!(
        out.stderr.contains("403"),
        "gfal-ls should be refused (403)\n{out}"
    );

    // --inline: only the variable (a stale BEARER_TOKEN_FILE is unset): both read.
    let script = format!(
        r#"set -u
eval "$(tok env --inline {sel})" || {{ echo "tok env failed" >&2; exit 10; }}
test -z "${{BEARER_TOKEN_FILE+set}}" || {{ echo "BEARER_TOKEN_FILE still set" >&2; exit 11; }}
test -n "$BEARER_TOKEN" || {{ echo "no BEARER_TOKEN" >&2; exit 12; }}
{ls} || {{ echo "gfal-ls failed" >&2; exit 13; }}
{xrdcp} || {{ echo "xrdcp failed" >&2; exit 14; }}
"#,
        xrdcp = xrdcp("inline-xrdcp"),
    );
    let out = g.bash(&script, &[("BEARER_TOKEN_FILE", "/nonexistent/stale")]);
    g.ok(&out, "eval \"$(tok env --inline)\"");
    g.holds(&out, &g.path("inline-xrdcp"), DATA_F);
}

/// davix reads no variable and no file, only `-H`; tok exec says how, and keeps davix's exit.
#[test]
fn davix_reads_only_an_authorization_header() {
    let g = setup();
    let s = &g.server;
    let capath = s.cert_dir();
    let capath = capath.to_str().unwrap();
    let f_url = s.https_url("/data/f");

    // Raw fact: every discovery channel holds a valid token, and davix-get sends none of them.
    let token = g.token("storage.read:/data", AUD);
    let file = g.path("token-file");
    token_file(&file, &token);
    let discovery = discovery_file(&g);
    token_file(&discovery, &token);
    let dest = g.path("no-header");
    let out = g.run(
        "davix-get",
        &["--capath", capath, &f_url, "-o", dest.to_str().unwrap()],
        &[
            ("BEARER_TOKEN", &token),
            ("BEARER_TOKEN_FILE", file.to_str().unwrap()),
        ],
    );
    std::fs::remove_file(&discovery).unwrap();
    g.refused(&out, "davix-get with every discovery channel but no -H");
    g.lacks(&out, &dest);
    let davix_refusal_code = out.code;

    // With the header from `tok get -f header`, as a user writes it.
    let get = |scope: &str, aud: &str, url: &str, dest: &str| {
        g.bash(
            &format!(
                r#"davix-get -H "$(tok get -f header -s '{scope}' --aud '{aud}')" --capath {capath} {url} -o {dest}"#,
                dest = g.path(dest).display()
            ),
            &[],
        )
    };
    let out = get("storage.read:/data", AUD, &f_url, "with-header");
    g.ok(&out, "davix-get -H \"$(tok get -f header …)\"");
    g.holds(&out, &g.path("with-header"), DATA_F);
    let out = get("storage.read:/data", FOREIGN_AUD, &f_url, "foreign-aud");
    g.refused(&out, "davix-get with a header for another audience");
    g.lacks(&out, &g.path("foreign-aud"));
    let out = get("storage.read:/other", AUD, &f_url, "other-scope");
    g.refused(&out, "davix-get with a header for another path");
    g.lacks(&out, &g.path("other-scope"));

    // davix-put: storage.modify or storage.create writes (no stat first), storage.read does not.
    std::fs::write(g.path("src"), b"uploaded by davix-put\n").unwrap();
    let put = |scope: &str, target: &str| {
        g.bash(
            &format!(
                r#"davix-put -H "$(tok get -f header -s '{scope}' --aud '{AUD}')" --capath {capath} {src} {url}"#,
                src = g.path("src").display(),
                url = s.https_url(target),
            ),
            &[],
        )
    };
    for (scope, target) in [
        ("storage.modify:/store", "/store/put-modify"),
        ("storage.create:/store", "/store/put-create"),
    ] {
        let out = put(scope, target);
        g.ok(&out, &format!("davix-put with {scope}"));
        g.holds(&out, &s.local_path(target), b"uploaded by davix-put\n");
    }
    let out = put("storage.read:/store", "/store/put-read");
    g.refused(&out, "davix-put with storage.read only");
    g.lacks(&out, &s.local_path("/store/put-read"));

    // tok exec -- davix-get: tok says how to pass the token; davix, with none, is refused, and
    // its exit code is tok's.
    let dest = g.path("exec");
    let out = g.tok(&[
        "exec",
        "-s",
        "storage.read:/data",
        "--aud",
        AUD,
        "--",
        "davix-get",
        "--capath",
        capath,
        &f_url,
        "-o",
        dest.to_str().unwrap(),
    ]);
    let hints: Vec<_> = out
        .stderr
        .lines()
        .filter(|l| l.contains("-H") && l.contains("tok get -f header"))
        .collect();
    if hints.is_empty() {
        s.fail(
            "tok exec should say how to pass the token to davix (-H \"$(tok get -f header …)\")",
            &out,
        );
    }
    g.refused(&out, "tok exec -- davix-get without -H");
    g.lacks(&out, &dest);
    assert_eq!(
        out.code, davix_refusal_code,
        "tok exec should exit with davix-get's own exit code\n{out}"
    );
}
