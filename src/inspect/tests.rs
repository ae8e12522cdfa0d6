//! Unit tests of `inspect`: decoding, every lint rule, and the reports.

use super::*;
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn b64(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn jwt_text(claims: Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&json!({"alg": "RS256", "kid": "k1", "typ": "at+jwt"})),
        b64(&claims)
    )
}

/// A token the WLCG profile has nothing to say about.
fn good() -> Value {
    json!({
        "iss": "https://iam.example.org/",
        "sub": "a1b2c3",
        "aud": "https://se.example.org",
        "exp": NOW + 1200,
        "iat": NOW - 2400,
        "nbf": NOW - 2400,
        "jti": "0f8e-77",
        "client_id": "tok-client",
        "scope": "openid offline_access storage.read:/ storage.modify:/store compute.create wlcg.groups:/cms wlcg",
        "wlcg.ver": "1.0",
        "wlcg.groups": ["/cms", "/cms/uscms"],
    })
}

fn jwt(claims: Value) -> Jwt {
    match decode(&jwt_text(claims)).unwrap() {
        Token::Jwt(j) => j,
        other => panic!("not a JWT: {other:?}"),
    }
}

fn with(changes: Value) -> Jwt {
    let mut c = good();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    jwt(c)
}

fn checks(j: &Jwt) -> Vec<(Level, &'static str)> {
    lint(j, NOW).iter().map(|f| (f.level, f.check)).collect()
}

#[test]
fn a_good_token_decodes_and_has_no_findings() {
    let j = jwt(good());
    assert_eq!(j.header["alg"], "RS256");
    assert_eq!(lint(&j, NOW), vec![]);
    let s = summary(&j.claims);
    assert_eq!(s.issuer.as_deref(), Some("https://iam.example.org/"));
    assert_eq!(s.subject.as_deref(), Some("a1b2c3"));
    assert_eq!(s.client_id.as_deref(), Some("tok-client"));
    assert_eq!(s.audiences, vec!["https://se.example.org"]);
    assert_eq!(s.groups, vec!["/cms", "/cms/uscms"]);
    assert_eq!(s.scopes.len(), 7);
    assert_eq!(s.expires_at, Some(NOW + 1200));
    assert_eq!(s.jti.as_deref(), Some("0f8e-77"));
}

#[test]
fn padded_segments_and_float_times_are_read() {
    use base64::Engine;
    let mut c = good();
    c["exp"] = json!((NOW + 60) as f64 + 0.5);
    let payload = base64::engine::general_purpose::URL_SAFE.encode(c.to_string());
    let header = b64(&json!({"alg": "ES256"}));
    let Token::Jwt(j) = decode(&format!("{header}.{payload}.sig")).unwrap() else {
        panic!()
    };
    assert_eq!(summary(&j.claims).expires_at, Some(NOW + 60));
}

#[test]
fn input_forms_of_tok_get_are_accepted() {
    let t = jwt_text(good());
    assert_eq!(extract(&format!("  {t}\n")).unwrap(), t);
    assert_eq!(extract(&format!("Authorization: Bearer {t}\n")).unwrap(), t);
    assert_eq!(extract(&format!("bearer {t}")).unwrap(), t);
    let json = json!({"access_token": t, "token_type": "Bearer"}).to_string();
    assert_eq!(extract(&json).unwrap(), t);
    let env = format!("BEARER_TOKEN={t}\nBEARER_TOKEN_EXPIRES_AT=1800000000\n");
    assert_eq!(extract(&env).unwrap(), t);
    assert!(extract("{\"token\": 1}").is_err());
    assert!(extract("{not json").is_err());
    assert!(extract("   \n").is_err());
    assert!(extract(&"a".repeat(MAX_TOKEN_BYTES + 1)).is_err());
}

#[test]
fn opaque_and_encrypted_tokens_are_told_apart() {
    assert_eq!(decode("2YotnFZFEjr1zCsicMWpAA").unwrap(), Token::Opaque);
    assert_eq!(decode("ya29.a0AfH6SMB-x_y~z+/=").unwrap(), Token::Opaque);
    assert_eq!(decode("eyQ3kPq9zXw2").unwrap(), Token::Opaque);
    assert!(decode("eyJhbGciOiJSUzI1NiJ9")
        .unwrap_err()
        .0
        .contains("only a JWT header"));
    let h = b64(&json!({"alg": "RSA-OAEP", "enc": "A256GCM"}));
    assert_eq!(decode(&format!("{h}.a.b.c.d")).unwrap(), Token::Encrypted);
    assert!(undecodable(&Token::Opaque)
        .unwrap()
        .starts_with("opaque token, nothing to decode"));
}

#[test]
fn malformed_tokens_are_errors_that_never_quote_the_token() {
    let secretish = "eyJzZWNyZXQ";
    for bad in [
        "not a token at all",
        "tok\u{1b}[2J",
        "eyJhbGciOiJSUzI1NiJ9.eyJ!!.sig",
        &format!("{secretish}.eyJhIjoxfQ"),
        "eyJub3QganNvbg.eyJhIjoxfQ.sig",
        &format!("{}.WzEsMl0.sig", b64(&json!({"alg":"RS256"}))),
        &format!("{}.a.b.c.d", b64(&json!({"alg":"RS256"}))),
        "",
    ] {
        let e = decode(bad).expect_err(bad).to_string();
        if bad.len() > 4 {
            assert!(!e.contains(bad), "{e}");
        }
        assert!(!e.contains(secretish), "{e}");
    }
    assert!(decode("eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ")
        .unwrap_err()
        .0
        .contains("2 dot-separated parts"));
}

#[test]
fn wlcg_ver_is_required_and_a_string() {
    assert_eq!(
        checks(&with(json!({"wlcg.ver": null}))),
        vec![(Level::Error, "wlcg.ver")]
    );
    assert_eq!(
        checks(&with(json!({"wlcg.ver": 1.0}))),
        vec![(Level::Error, "wlcg.ver")]
    );
    assert_eq!(
        checks(&with(json!({"wlcg.ver": "2.0"}))),
        vec![(Level::Warning, "wlcg.ver")]
    );
}

#[test]
fn required_claims_and_their_types() {
    let j = with(json!({"jti": null, "sub": null}));
    let f = lint(&j, NOW);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].check, "required");
    assert!(f[0].message.contains("sub, jti"), "{}", f[0].message);
    assert_eq!(
        checks(&with(json!({"iss": 7, "exp": "soon"}))),
        vec![(Level::Error, "claims"), (Level::Error, "claims")]
    );
}

#[test]
fn unsigned_tokens_are_an_error() {
    let text = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&good()));
    let Token::Jwt(j) = decode(&text).unwrap() else {
        panic!()
    };
    assert_eq!(checks(&j), vec![(Level::Error, "signature")]);
}

#[test]
fn scope_grammar() {
    for fine in [
        "storage.read:/",
        "storage.create:/store/user/me",
        "storage.modify:/a",
        "storage.stage:/tape",
        "storage.poll:/tape",
        "compute.read",
        "compute.modify",
        "compute.create",
        "compute.cancel",
        "wlcg.groups",
        "wlcg.groups:/cms/uscms",
        "wlcg",
        "wlcg:1.0",
        "openid",
        "offline_access",
        "eduperson_entitlement",
    ] {
        assert_eq!(check_scope(fine), None, "{fine}");
    }
    for (bad, says) in [
        ("storage.read", "has no path"),
        ("storage.read:store", "must be absolute"),
        ("storage.write:/x", "not a WLCG storage scope"),
        ("compute.submit", "not a WLCG compute scope"),
        ("Storage.Read:/x", "case sensitive"),
        ("wlcg.groups:cms", "absolute path"),
        ("wlcg:2.0", "version 1.0"),
        ("wlcg.roles", "not a WLCG scope"),
    ] {
        let m = check_scope(bad).unwrap_or_else(|| panic!("{bad} passed"));
        assert!(m.contains(says), "{bad}: {m}");
    }
    assert_eq!(
        checks(&with(json!({"scope": "openid storage.read"}))),
        vec![(Level::Error, "scope")]
    );
    assert_eq!(
        checks(&with(json!({"scope": ["storage.read:/"]}))),
        vec![(Level::Error, "scope")]
    );
}

#[test]
fn audience_form() {
    for fine in [
        "https://se.example.org",
        "https://se.example.org:1094",
        "root://xrootd.example.org:1094",
        ANY_AUDIENCE,
    ] {
        assert_eq!(check_audience(fine), None, "{fine}");
    }
    for (bad, says) in [
        ("https://se.example.org/", "ends in a slash"),
        ("https://se.example.org:443", "no default port"),
        ("https://SE.example.org", "lower-case host"),
        ("https://se.example.org/webdav", "has a path"),
        ("https://wlcg.cern.ch/jwt/v1/any/", "exactly"),
        ("cms", "not a URL"),
        ("urn:example:aud", "not a URL"),
    ] {
        let m = check_audience(bad).unwrap_or_else(|| panic!("{bad} passed"));
        assert!(m.contains(says), "{bad}: {m}");
    }
    assert_eq!(
        checks(&with(
            json!({"aud": ["https://se.example.org", "https://ce.example.org/"]})
        )),
        vec![(Level::Warning, "audience")]
    );
    assert_eq!(
        checks(&with(json!({"aud": []}))),
        vec![(Level::Error, "audience")]
    );
    assert_eq!(
        checks(&with(json!({"aud": 5}))),
        vec![(Level::Error, "audience")]
    );
}

#[test]
fn groups_are_absolute_paths() {
    assert_eq!(
        checks(&with(json!({"wlcg.groups": ["/cms", "atlas"]}))),
        vec![(Level::Warning, "groups")]
    );
    assert_eq!(
        checks(&with(json!({"wlcg.groups": "/cms"}))),
        vec![(Level::Error, "groups")]
    );
}

#[test]
fn lifetime_bounds() {
    assert_eq!(
        checks(&with(
            json!({"iat": NOW - 100, "exp": NOW + 6 * 3600 - 100})
        )),
        vec![]
    );
    let long = with(json!({"iat": NOW, "exp": NOW + 10 * 3600}));
    let f = lint(&long, NOW);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].level, f[0].check), (Level::Warning, "lifetime"));
    assert!(f[0].message.contains("10h"), "{}", f[0].message);
    assert!(checks(&with(json!({"iat": NOW, "exp": NOW}))).contains(&(Level::Error, "lifetime")));
    assert!(checks(&with(json!({"iat": NOW + 10, "exp": NOW - 10})))
        .contains(&(Level::Error, "lifetime")));
}

#[test]
fn expiry_and_times_in_the_future() {
    let f = lint(&with(json!({"exp": NOW - 180, "iat": NOW - 3780})), NOW);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].check, "expired");
    assert!(f[0].message.contains("3m ago"), "{}", f[0].message);
    assert_eq!(
        checks(&with(json!({"nbf": NOW + 300}))),
        vec![(Level::Warning, "time")]
    );
    assert_eq!(checks(&with(json!({"iat": NOW + 30, "nbf": null}))), vec![]);
    assert_eq!(
        checks(&with(json!({"iat": NOW + 600, "nbf": null}))),
        vec![(Level::Warning, "time")]
    );
}

#[test]
fn personal_claims_are_a_warning() {
    let f = lint(
        &with(json!({"email": "a@b.c", "preferred_username": "ab", "name": "A B"})),
        NOW,
    );
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].level, f[0].check), (Level::Warning, "personal-data"));
    assert!(
        f[0].message.contains("email, name, preferred_username"),
        "{}",
        f[0].message
    );
}

#[test]
fn relative_times() {
    assert_eq!(relative(0), "now");
    assert_eq!(relative(240), "in 4m");
    assert_eq!(relative(-180), "3m ago");
    assert_eq!(relative(-45), "45s ago");
    assert_eq!(relative(95), "in 1m 35s");
    assert_eq!(relative(3600 + 300), "in 1h 5m");
    assert_eq!(relative(7200), "in 2h");
    assert_eq!(relative(-(2 * 86400 + 3 * 3600)), "2d 3h ago");
    assert_eq!(span(10 * 3600), "10h");
}

#[test]
fn report_shows_claims_findings_and_no_signature() {
    let mut c = good();
    c["email"] = json!("x@y.z");
    c["sub"] = json!("evil\u{1b}[2Jsub");
    let text = jwt_text(c);
    let Token::Jwt(j) = decode(&text).unwrap() else {
        panic!()
    };
    let f = lint(&j, NOW);
    let utc = |t: i64| format!("T{t}");
    let out = render(&j, &f, NOW, &utc);
    assert!(out.contains("NOT verified"), "{out}");
    assert!(out.contains("issuer:    https://iam.example.org/"), "{out}");
    assert!(
        out.contains(&format!("expires:   T{} (in 20m)", NOW + 1200)),
        "{out}"
    );
    assert!(
        out.contains("issued:    ") && out.contains("(40m ago)"),
        "{out}"
    );
    assert!(out.contains("groups:    /cms /cms/uscms"), "{out}");
    assert!(out.contains("client:    tok-client"), "{out}");
    assert!(
        out.contains("signed:    RS256, key k1, type at+jwt"),
        "{out}"
    );
    assert!(out.contains("warning personal-data"), "{out}");
    assert!(out.contains("evil\\u{1b}[2Jsub"), "{out}");
    assert!(
        !out.contains("c2lnbmF0dXJl"),
        "the signature is never shown"
    );
    let json = to_json(&Token::Jwt(j), &f);
    assert_eq!(json["verified"], false);
    assert_eq!(json["claims"]["jti"], "0f8e-77");
    assert_eq!(json["lint"][0]["check"], "personal-data");
    assert_eq!(json["lint"][0]["level"], "warning");
    assert_eq!(json["warnings"], 1);
    assert!(!json.to_string().contains(&text));
    assert_eq!(to_json(&Token::Opaque, &[])["format"], "opaque");
}

#[test]
fn extreme_times_do_not_overflow() {
    // Found with the inspect fuzz target (seed fuzz/corpus/inspect/extreme_times): `exp - now`
    // overflowed.
    let j = jwt(json!({"exp": i64::MIN, "iat": i64::MAX, "nbf": -1e300}));
    let f = lint(&j, NOW);
    assert!(f.iter().any(|f| f.check == "expired"), "{f:?}");
    render(&j, &f, NOW, &|t| t.to_string());
    let j = jwt(json!({"exp": i64::MAX, "iat": i64::MIN}));
    render(&j, &lint(&j, NOW), NOW, &|t| t.to_string());
}
