//! `tok inspect` and `tok get --inspect` on real and hand-made tokens.

use super::*;

#[test]
fn a_token_from_tok_get_piped_into_inspect() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let out = shell(&env, "tok get -s storage.read:/x | tok inspect").ok();
    let s = &out.stdout;
    assert!(s.contains("NOT verified"), "{out}");
    assert!(
        s.contains(&format!("issuer:    {}", provider.issuer)),
        "{out}"
    );
    assert!(s.contains("scopes:    storage.read:/x"), "{out}");
    assert!(s.contains("wlcg.ver:  1.0"), "{out}");
    assert!(
        s.contains("audience:  https://wlcg.cern.ch/jwt/v1/any"),
        "{out}"
    );
    let expires = s
        .lines()
        .find(|l| l.contains("expires:"))
        .unwrap_or_default();
    assert!(
        expires.ends_with("(in 59m)") || expires.ends_with("(in 1h)"),
        "{out}"
    );
    assert!(s.contains("WLCG profile: no findings"), "{out}");
    // The same (cached) token: inspect shows its claims, never the token.
    let token = env.token(&["-s", "storage.read:/x"]);
    assert!(!s.contains(&token), "the token was printed\n{out}");
    let jti = crate::common::jwt_claims(&token)["jti"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.contains(&format!("jti:       {jti}")), "{out}");

    let out = shell(&env, "tok get -s storage.read:/x | tok inspect --json").ok();
    let json = out.json();
    assert_eq!(json["verified"], false, "{out}");
    assert_eq!(json["format"], "jwt");
    assert_eq!(json["claims"]["scope"], "storage.read:/x");
    assert_eq!(json["claims"]["wlcg.ver"], "1.0");
    assert_eq!(json["lint"], serde_json::json!([]));
    assert!(!out.stdout.contains(&token));

    // Every format of `tok get` can be piped in.
    for format in ["header", "json", "env"] {
        let out = shell(
            &env,
            &format!("tok get -s storage.read:/x -f {format} | tok inspect"),
        )
        .ok();
        assert!(out.stdout.contains("storage.read:/x"), "{out}");
    }
}

#[test]
fn get_inspect_reports_on_stderr_and_keeps_stdout_the_bare_token() {
    let provider = Provider::start();
    let env = TestEnv::new();
    env.login_cms(&provider);
    let out = env
        .run(&[
            "get",
            "-s",
            "storage.read:/x",
            "--aud",
            "https://se.example.org",
            "--inspect",
        ])
        .ok();
    let token = out.stdout.trim_end_matches('\n');
    assert_eq!(out.stdout.lines().count(), 1, "{out}");
    assert!(!token.contains(' '), "{out}");
    assert_eq!(crate::common::jwt_claims(token)["scope"], "storage.read:/x");
    assert!(out.stderr.contains("NOT verified"), "{out}");
    assert!(out.stderr.contains("scopes:    storage.read:/x"), "{out}");
    assert!(
        out.stderr.contains("audience:  https://se.example.org"),
        "{out}"
    );
    assert!(
        !out.stderr.contains(token),
        "the token went to stderr\n{out}"
    );
}

#[test]
fn lints_fire_on_a_hand_made_token() {
    let env = TestEnv::new();
    let now = crate::common::unix_now();
    let token = jwt(serde_json::json!({
        "iss": "https://iam.example.org",
        "sub": "someone",
        "aud": "https://se.example.org/",
        "iat": now,
        "exp": now + 10 * 3600,
        "jti": "hand-made-1",
        "scope": "storage.read compute.create storage.write:/x",
        "email": "someone@example.org",
        "preferred_username": "someone",
    }));
    // The token as an argument.
    let out = env.run(&["inspect", &token]).ok();
    let s = &out.stdout;
    assert!(s.contains("WLCG profile: 3 errors, 3 warnings"), "{out}");
    assert!(s.contains("error   wlcg.ver: no `wlcg.ver` claim"), "{out}");
    assert!(
        s.contains("error   scope: `storage.read` has no path"),
        "{out}"
    );
    assert!(
        s.contains("error   scope: `storage.write:/x` is not a WLCG storage scope"),
        "{out}"
    );
    assert!(
        s.contains("warning audience: audience `https://se.example.org/` ends in a slash"),
        "{out}"
    );
    assert!(s.contains("warning lifetime: the token lives 10h"), "{out}");
    assert!(
        s.contains(
            "warning personal-data: personal data in an access token (email, preferred_username)"
        ),
        "{out}"
    );
    assert!(s.contains("lifetime:  10h"), "{out}");
    assert!(!s.contains(&token), "{out}");

    // `-` reads stdin; --json carries every finding.
    let out = run_with_stdin(&env, &["inspect", "--json", "-"], &format!("{token}\n")).ok();
    let json = out.json();
    let checks: Vec<(String, String)> = json["lint"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["check"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("error", "wlcg.ver"),
        ("error", "scope"),
        ("warning", "audience"),
        ("warning", "lifetime"),
        ("warning", "personal-data"),
    ] {
        assert!(
            checks.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} missing\n{out}"
        );
    }
    assert_eq!(json["errors"], 3, "{out}");
    assert_eq!(json["claims"]["email"], "someone@example.org");
}

#[test]
fn opaque_and_malformed_tokens() {
    let env = TestEnv::new();
    let out = run_with_stdin(&env, &["inspect"], "2YotnFZFEjr1zCsicMWpAA\n").ok();
    assert!(
        out.stdout.starts_with("opaque token, nothing to decode"),
        "{out}"
    );
    let out = env
        .run(&["inspect", "--json", "2YotnFZFEjr1zCsicMWpAA"])
        .ok();
    assert_eq!(out.json()["format"], "opaque");

    for garbage in [
        "this is not a token\n",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0\n",
        "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln\n",
        "",
    ] {
        let out = run_with_stdin(&env, &["inspect"], garbage).code(2);
        assert!(out.stderr.contains("cannot inspect the token"), "{out}");
        assert!(out.stdout.is_empty(), "{out}");
        let secret = garbage.trim();
        if secret.len() > 8 {
            assert!(!out.stderr.contains(secret), "the input was echoed\n{out}");
        }
    }
}
