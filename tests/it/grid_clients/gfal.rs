//! gfal2 reads only `BEARER_TOKEN`: what `tok exec` and `tok env` do for it (and for xrdcp).

use super::*;

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
