//! Unit tests of `protocol`, kept apart so the module itself stays readable.

use super::*;
use crate::secret::{AccessToken, RefreshToken};

fn round_trip_request(request: Request) {
    let json = serde_json::to_vec(&Envelope::new(request)).unwrap();
    let back: Envelope = serde_json::from_slice(&json).unwrap();
    assert_eq!(back.version, PROTOCOL_VERSION);
    // Re-encoding must give the same bytes: nothing is lost or reordered.
    assert_eq!(serde_json::to_vec(&back).unwrap(), json);
}

fn round_trip_response(response: Response) {
    let json = serde_json::to_vec(&response).unwrap();
    let back: Response = serde_json::from_slice(&json).unwrap();
    assert_eq!(serde_json::to_vec(&back).unwrap(), json);
}

#[test]
fn every_request_round_trips() {
    round_trip_request(Request::Ping);
    round_trip_request(Request::Token(TokenRequest {
        account: Some("cms".into()),
        issuer: None,
        scopes: vec!["storage.read:/store".into()],
        audiences: vec!["https://se.example.org".into()],
        min_valid_secs: Some(60),
        exact_scope: true,
        force: true,
    }));
    round_trip_request(Request::Login(LoginRequest {
        account: Some("cms".into()),
        issuer: Some("https://op.example.org".into()),
        client_id: Some("id".into()),
        client_secret: Some(ClientSecret::new("s")),
        scopes: vec!["openid".into()],
        audience_param: Some(AudienceParam::Audience),
        ca_file: Some("/etc/ca.pem".into()),
        make_default: true,
        narrowing: Some(Narrowing::Exchange),
        refresh_invalidates_tokens: Some(true),
        lifetime_secs: Some(3600),
        confirm: Some(true),
        flow: Some(LoginFlow::Code),
        desktop: Some(Desktop {
            usable: true,
            why: "a desktop session is present (DISPLAY is set)".into(),
        }),
        refresh_token: Some(RefreshToken::new("rt")),
        browser_timeout_secs: Some(300),
    }));
    round_trip_request(Request::Logout {
        account: "cms".into(),
        keep_remote: false,
        forget: true,
    });
    round_trip_request(Request::Delegate(DelegateRequest {
        account: Some("cms".into()),
        issuer: None,
        scopes: vec!["storage.read:/store".into()],
        audiences: vec!["https://se.example.org".into()],
        lifetime_secs: 7 * 86400,
    }));
    round_trip_request(Request::Migrate {
        to: StoreKind::OpenBao,
        passphrase: Some(Passphrase::new("pw")),
    });
    round_trip_request(Request::ForgetDelegation {
        id: "0123abcd".into(),
    });
    round_trip_request(Request::Status);
    round_trip_request(Request::Unlock {
        passphrase: Passphrase::new("pw"),
    });
    round_trip_request(Request::Lock);
    round_trip_request(Request::Stop);
    round_trip_request(Request::Import(ImportRequest {
        account: "wlcg".into(),
        issuer: "https://wlcg.example.org".into(),
        client_id: "c".into(),
        client_secret: Some(ClientSecret::new("s")),
        scopes: vec!["storage.read:/".into()],
        audience_param: AudienceParam::Audience,
        ca_file: None,
        refresh_token: RefreshToken::new("rt"),
    }));
}

#[test]
fn every_response_round_trips() {
    let info = AgentInfo {
        pid: 1,
        version: "0.1.0".into(),
        protocol: PROTOCOL_VERSION,
        socket: "/run/user/1/tok/agent.sock".into(),
    };
    round_trip_response(Response::Hello(info.clone()));
    round_trip_response(Response::Token(TokenGrant {
        token: AccessToken::new("eyJ.x.y"),
        expires_at: 10,
        scopes: vec!["a".into()],
        audiences: vec![],
        account: "cms".into(),
        issuer: "https://op".into(),
        warning: Some("wider".into()),
        login_warning: Some("the login for account `cms` ends in 2 days".into()),
    }));
    round_trip_response(Response::DeviceCode(DeviceCodePrompt {
        verification_uri: "https://op/device".into(),
        verification_uri_complete: None,
        user_code: "ABCD-EFGH".into(),
        expires_in_secs: 600,
        flow_note: Some("using a device code: this is an ssh session".into()),
    }));
    round_trip_response(Response::BrowserLogin(BrowserPrompt {
        url: "https://op/auth?client_id=c&state=s".into(),
        expires_in_secs: 300,
        flow_note: None,
    }));
    round_trip_response(Response::LoggedIn {
        account: "cms".into(),
        issuer: "https://op".into(),
        client_id: "c".into(),
    });
    round_trip_response(Response::LoggedOut {
        account: "cms".into(),
        revoked: true,
        note: None,
    });
    round_trip_response(Response::Status(StatusReport {
        agent: info,
        agent_locked: true,
        store: StoreStatus {
            backend: "memory".into(),
            reason: "asked".into(),
            locked: false,
            notes: vec![],
        },
        accounts: vec![AccountStatus {
            name: "cms".into(),
            issuer: "https://op".into(),
            client_id: "c".into(),
            default: true,
            scopes: vec![],
            audience_param: AudienceParam::Resource,
            state: "ok".into(),
            reason: None,
            cached: vec![CachedTokenStatus {
                scopes: vec![],
                audiences: vec![],
                expires_at: 5,
            }],
            delegations: vec![DelegationStatus {
                id: "0123abcd".into(),
                created_at: 1,
                not_after: 2,
                scopes: vec!["storage.read:/".into()],
                audiences: vec![],
                fingerprint: "sha256:0123456789ab".into(),
            }],
            scope_warning: Some("wider".into()),
            confirm: true,
            login_not_after: Some(9),
            login_ends_at: Some(8),
            login_end_source: Some(LoginEndSource::RefreshExpiresIn),
        }],
    }));
    round_trip_response(Response::Delegated(credential()));
    round_trip_response(Response::Migrated {
        accounts: vec!["cms".into()],
        to: "openbao".into(),
    });
    round_trip_response(Response::Done);
    round_trip_response(Response::VersionMismatch {
        agent_version: 0,
        agent_pid: 7,
    });
    round_trip_response(Response::Error(ErrorReply {
        kind: ErrorKind::NeedsLogin,
        message: "run `tok login cms`".into(),
    }));
}

fn credential() -> JobCredential {
    JobCredential {
        tok_credential: CREDENTIAL_FORMAT,
        id: "0123abcd".into(),
        account: "cms".into(),
        issuer: "https://op".into(),
        token_endpoint: "https://op/token".into(),
        revocation_endpoint: Some("https://op/revoke".into()),
        client_id: "c".into(),
        client_secret: Some(ClientSecret::new("CLIENTSECRET")),
        client_auth: Some("client_secret_basic".into()),
        refresh_token: RefreshToken::new("DELEGATEDSECRET"),
        scopes: vec!["storage.read:/store".into()],
        audiences: vec!["https://se.example.org".into()],
        audience_param: AudienceParam::Resource,
        created_at: 1,
        not_after: 2,
        ca_pem: Some("-----BEGIN CERTIFICATE-----\n".into()),
    }
}

#[test]
fn credential_debug_never_shows_secrets() {
    let shown = format!("{:?}", Response::Delegated(credential()));
    assert!(!shown.contains("DELEGATEDSECRET") && !shown.contains("CLIENTSECRET"));
}

#[test]
fn token_debug_never_shows_the_value() {
    let r = Response::Token(TokenGrant {
        token: AccessToken::new("SECRETVALUE"),
        expires_at: 0,
        scopes: vec![],
        audiences: vec![],
        account: String::new(),
        issuer: String::new(),
        warning: None,
        login_warning: None,
    });
    assert!(!format!("{r:?}").contains("SECRETVALUE"));
}

/// Issue 20: the login's end is new on the wire; an agent or client without it still reads
/// the messages (serde defaults), and the source is spelt as `tok status --json` documents.
#[test]
fn login_end_fields_default_and_round_trip() {
    let grant: TokenGrant = serde_json::from_str(
        r#"{"token":"t","expires_at":1,"scopes":[],"audiences":[],"account":"a","issuer":"i"}"#,
    )
    .unwrap();
    assert!(grant.login_warning.is_none());
    for source in [
        LoginEndSource::RefreshExpiresIn,
        LoginEndSource::RefreshTokenExp,
        LoginEndSource::Lifetime,
    ] {
        let end = LoginEnd { at: 7, source };
        let json = serde_json::to_string(&end).unwrap();
        assert_eq!(serde_json::from_str::<LoginEnd>(&json).unwrap(), end);
    }
    assert_eq!(
        serde_json::to_string(&LoginEndSource::RefreshExpiresIn).unwrap(),
        r#""refresh_expires_in""#
    );
    let early = LoginEnd {
        at: 5,
        source: LoginEndSource::Lifetime,
    };
    let late = LoginEnd {
        at: 9,
        source: LoginEndSource::RefreshTokenExp,
    };
    assert_eq!(LoginEnd::earliest(Some(late), Some(early)), Some(early));
    assert_eq!(LoginEnd::earliest(None, Some(late)), Some(late));
    assert_eq!(LoginEnd::earliest(None, None), None);
}

/// The login's new fields (issue 20) are optional on the wire: a request from a CLI that does
/// not know them still reads as an `auto` login, and every flow name round-trips.
#[test]
fn login_flow_fields_default_and_round_trip() {
    let old = r#"{"account":"cms","issuer":null,"client_id":null,"client_secret":null,"scopes":[],"audience_param":null,"ca_file":null,"make_default":false}"#;
    let req: LoginRequest = serde_json::from_str(old).unwrap();
    assert_eq!(req.flow, None);
    assert!(req.desktop.is_none() && req.refresh_token.is_none());
    for flow in [
        LoginFlow::Auto,
        LoginFlow::Code,
        LoginFlow::Device,
        LoginFlow::Refresh,
    ] {
        let json = serde_json::to_string(&flow).unwrap();
        assert_eq!(json, format!("\"{}\"", flow.as_str()));
        assert_eq!(serde_json::from_str::<LoginFlow>(&json).unwrap(), flow);
    }
}
