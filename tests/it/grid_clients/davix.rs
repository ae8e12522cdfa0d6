//! davix reads only an `Authorization` header on its command line.

use super::*;

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
