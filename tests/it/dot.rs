//! Proves the django-oauth-toolkit fixture (`common::dot`) and pins the DOT behaviour tok has to
//! live with, using plain HTTP and no tok: where each document lists which endpoint, the
//! device flow, refresh (rotation, narrowing), revocation and introspection. If DOT changes
//! under a new pin, these fail before any tok-level test does.

use crate::common::dot::{
    DotOpts, DotProvider, DEVICE_GRANT, DOT_CLIENT, DOT_CONF_CLIENT, DOT_CONF_SECRET,
};
use serde_json::Value;

const SCOPE: &str = "openid offline_access storage.read:/ compute.create";

fn is_opaque(token: &str) -> bool {
    !token.is_empty() && !token.contains('.')
}

fn active(dot: &DotProvider, token: &str) -> bool {
    dot.introspect(token)["active"] == Value::Bool(true)
}

#[test]
fn dot_discovery_documents() {
    let dot = DotProvider::start();
    assert!(dot.issuer.ends_with("/o"), "{}", dot.issuer);

    // OIDC discovery (DOT's stock view): the token endpoint, but no device, revocation,
    // introspection or registration endpoint.
    let (status, oidc) = dot.get_json(&dot.oidc_discovery_url());
    assert_eq!(status, 200, "{oidc}");
    assert_eq!(oidc["issuer"], dot.issuer.as_str());
    assert_eq!(oidc["token_endpoint"], dot.url("/token/").as_str());
    assert_eq!(oidc["jwks_uri"], dot.url("/.well-known/jwks.json").as_str());
    for absent in [
        "device_authorization_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "registration_endpoint",
    ] {
        assert!(oidc.get(absent).is_none(), "{absent} in {oidc}");
    }
    let scopes = oidc["scopes_supported"].as_array().unwrap();
    for s in [
        "openid",
        "offline_access",
        "storage.read:/data",
        "compute.create",
    ] {
        assert!(scopes.iter().any(|v| v == s), "{s} not in {oidc}");
    }

    // RFC 8414 at the §3.1 place for an issuer with a path, naming the same issuer.
    let (status, meta) = dot.get_json(&dot.rfc8414_url());
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta["issuer"], dot.issuer.as_str());
    assert_eq!(meta["token_endpoint"], dot.url("/token/").as_str());
    assert_eq!(
        meta["device_authorization_endpoint"],
        dot.url("/device-authorization/").as_str()
    );
    assert_eq!(
        meta["revocation_endpoint"],
        dot.url("/revoke_token/").as_str()
    );
    assert_eq!(
        meta["introspection_endpoint"],
        dot.url("/introspect/").as_str()
    );
    assert!(meta.get("registration_endpoint").is_none(), "{meta}");
    let methods = &meta["token_endpoint_auth_methods_supported"];
    assert_eq!(
        *methods,
        serde_json::json!(["client_secret_post", "client_secret_basic"])
    );
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == DEVICE_GRANT));
    // The non-standard "issuer + suffix" place serves the same document; the origin's own
    // well-known places are empty (the issuer is not the origin).
    let (status, suffix) = dot.get_json(&dot.url("/.well-known/oauth-authorization-server"));
    assert_eq!((status, &suffix), (200, &meta));
    for path in ["oauth-authorization-server", "openid-configuration"] {
        let (status, _) = dot.get_json(&format!("{}/.well-known/{path}", dot.origin));
        assert_eq!(status, 404, "{path} at the origin");
    }
    let (status, jwks) = dot.get_json(oidc["jwks_uri"].as_str().unwrap());
    assert_eq!(
        (status, &jwks["keys"][0]["alg"]),
        (200, &Value::from("RS256"))
    );
}

#[test]
fn dot_device_flow_refresh_narrow_revoke() {
    let dot = DotProvider::start();
    let (status, auth) = dot.post_form(
        "/device-authorization/",
        &[("client_id", DOT_CLIENT), ("scope", SCOPE)],
        None,
    );
    assert_eq!(status, 200, "{auth}");
    let code = auth["user_code"].as_str().unwrap();
    assert!(
        code.len() == 8
            && code
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='V').contains(&c)),
        "user code {code}: 8 characters of 0-9A-V, no dash"
    );
    assert_eq!(auth["verification_uri"], dot.url("/device/").as_str());
    assert_eq!(
        auth["verification_uri_complete"],
        format!("{}?user_code={code}", dot.url("/device/")).as_str()
    );
    assert_eq!(
        (auth["interval"].as_u64(), auth["expires_in"].as_u64()),
        (Some(1), Some(1800))
    );
    let device_code = auth["device_code"].as_str().unwrap();
    let poll = || {
        dot.post_form(
            "/token/",
            &[
                ("client_id", DOT_CLIENT),
                ("grant_type", DEVICE_GRANT),
                ("device_code", device_code),
            ],
            None,
        )
    };
    let (status, pending) = poll();
    assert_eq!(
        (status, &pending["error"]),
        (400, &Value::from("authorization_pending"))
    );

    // A client may show the code grouped and a person may type it in lower case.
    dot.approve(&format!("{}-{}", &code[..4], code[4..].to_lowercase()));
    let (status, t1) = poll();
    assert_eq!(status, 200, "{t1}\n{}", dot.log());
    let (at1, rt1) = (
        t1["access_token"].as_str().unwrap(),
        t1["refresh_token"].as_str().unwrap(),
    );
    assert!(is_opaque(at1) && is_opaque(rt1), "{t1}");
    assert_eq!(t1["token_type"], "Bearer");
    assert_eq!(t1["scope"], SCOPE);
    assert_eq!(t1["expires_in"], 3600);
    assert!(
        t1.get("id_token").is_none(),
        "no ID token from the device grant: {t1}"
    );
    let info = dot.introspect(at1);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(
        (&info["scope"], &info["client_id"], &info["username"]),
        (
            &Value::from(SCOPE),
            &Value::from(DOT_CLIENT),
            &Value::from("alice")
        )
    );
    assert!(!active(&dot, rt1), "DOT introspects access tokens only");

    // The device code is not used up: polling again mints a second, independent pair.
    let (status, again) = poll();
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["access_token"], t1["access_token"]);

    // Rotation (DOT's default): a new refresh token, the old one and its access token die.
    let (status, r1) = dot.refresh(rt1, None);
    assert_eq!(status, 200, "{r1}");
    let rt2 = r1["refresh_token"].as_str().unwrap();
    assert_ne!(rt2, rt1);
    assert_eq!(r1["scope"], SCOPE);
    let id = crate::common::jwt_claims(r1["id_token"].as_str().unwrap());
    assert_eq!(
        (&id["iss"], &id["aud"]),
        (&Value::from(dot.issuer.as_str()), &Value::from(DOT_CLIENT))
    );
    assert!(
        !active(&dot, at1),
        "the refresh deleted the access token of the used refresh token"
    );
    assert!(active(&dot, again["access_token"].as_str().unwrap()));
    let (status, reuse) = dot.refresh(rt1, None);
    assert_eq!(
        (status, &reuse["error"]),
        (400, &Value::from("invalid_grant"))
    );

    // Fewer scopes narrow the grant for good; the response lists them in the order asked.
    let (status, r2) = dot.refresh(rt2, Some("storage.read:/ openid"));
    assert_eq!(
        (status, &r2["scope"]),
        (200, &Value::from("storage.read:/ openid")),
        "{r2}"
    );
    assert!(!active(&dot, r1["access_token"].as_str().unwrap()));
    let (status, r3) = dot.refresh(r2["refresh_token"].as_str().unwrap(), None);
    assert_eq!(
        (status, &r3["scope"]),
        (200, &Value::from("storage.read:/ openid")),
        "{r3}"
    );
    let rt4 = r3["refresh_token"].as_str().unwrap();
    for wider in ["storage.read:/ compute.create", "storage.read:/data"] {
        let (status, err) = dot.refresh(rt4, Some(wider));
        assert_eq!(
            (status, &err["error"]),
            (400, &Value::from("invalid_scope")),
            "{wider}"
        );
    }

    // Revoking the access token orphans its refresh token: DOT refuses it from then on.
    let at4 = r3["access_token"].as_str().unwrap();
    assert_eq!(dot.revoke(at4), 200);
    assert!(!active(&dot, at4));
    let (status, err) = dot.refresh(rt4, None);
    assert_eq!(
        (status, &err["error"]),
        (400, &Value::from("invalid_grant"))
    );
    // Revoking a refresh token also deletes its access token.
    let t = dot.device_login("openid storage.read:/");
    assert_eq!(dot.revoke(t["refresh_token"].as_str().unwrap()), 200);
    assert!(!active(&dot, t["access_token"].as_str().unwrap()));
    assert_eq!(dot.revoke("no-such-token"), 200);

    // "Deny" in DOT's page ends the flow with access_denied.
    let (_, auth) = dot.post_form(
        "/device-authorization/",
        &[("client_id", DOT_CLIENT), ("scope", "openid")],
        None,
    );
    dot.deny(auth["user_code"].as_str().unwrap());
    let (status, err) = dot.post_form(
        "/token/",
        &[
            ("client_id", DOT_CLIENT),
            ("grant_type", DEVICE_GRANT),
            ("device_code", auth["device_code"].as_str().unwrap()),
        ],
        None,
    );
    assert_eq!(
        (status, &err["error"]),
        (400, &Value::from("access_denied"))
    );
}

#[test]
fn dot_without_rotation() {
    let mut dot = DotProvider::start_with(DotOpts {
        rotate: false,
        at_ttl: 120,
        ..DotOpts::default()
    });
    let t = dot.device_login(SCOPE);
    assert_eq!(t["expires_in"], 120);
    let rt = t["refresh_token"].as_str().unwrap();
    let (status, r1) = dot.refresh(rt, None);
    assert_eq!(status, 200, "{r1}");
    assert_eq!(r1["refresh_token"], rt, "the same refresh token comes back");
    assert!(!active(&dot, t["access_token"].as_str().unwrap()));
    let (status, r2) = dot.refresh(rt, Some("storage.read:/"));
    assert_eq!(
        (status, &r2["scope"]),
        (200, &Value::from("storage.read:/"))
    );
    assert!(!active(&dot, r1["access_token"].as_str().unwrap()));

    // The confidential client: device authorization wants client_id in the body even with
    // HTTP Basic; the token endpoint takes Basic alone.
    let basic = Some((DOT_CONF_CLIENT, DOT_CONF_SECRET));
    let (status, err) = dot.post_form("/device-authorization/", &[("scope", "openid")], basic);
    assert_eq!(status, 400, "{err}");
    let (status, auth) = dot.post_form(
        "/device-authorization/",
        &[
            ("client_id", DOT_CONF_CLIENT),
            ("scope", "openid compute.create"),
        ],
        basic,
    );
    assert_eq!(status, 200, "{auth}");
    dot.approve(auth["user_code"].as_str().unwrap());
    let (status, t) = dot.post_form(
        "/token/",
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", auth["device_code"].as_str().unwrap()),
        ],
        basic,
    );
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        dot.introspect(t["access_token"].as_str().unwrap())["client_id"],
        DOT_CONF_CLIENT
    );

    let port = dot.port;
    dot.stop();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn dot_reuse_protection() {
    let dot = DotProvider::start_with(DotOpts {
        reuse_protection: true,
        ..DotOpts::default()
    });
    let t = dot.device_login(SCOPE);
    let rt1 = t["refresh_token"].as_str().unwrap();
    let (status, r1) = dot.refresh(rt1, None);
    assert_eq!(status, 200, "{r1}");
    // Replaying the rotated token revokes the whole family, the current pair included.
    let (status, err) = dot.refresh(rt1, None);
    assert_eq!(
        (status, &err["error"]),
        (400, &Value::from("invalid_grant"))
    );
    let (status, err) = dot.refresh(r1["refresh_token"].as_str().unwrap(), None);
    assert_eq!(
        (status, &err["error"]),
        (400, &Value::from("invalid_grant")),
        "{}",
        dot.log()
    );
    assert!(!active(&dot, r1["access_token"].as_str().unwrap()));
}
