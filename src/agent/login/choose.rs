//! Which flow a login uses (`--flow`, the account's last flow, or `auto`), and the one line that
//! says why. `auto` weighs the CLI's desktop facts (the agent's own environment is not the
//! user's desktop), the provider's metadata, and what the client is known to be allowed.

use crate::oauth::{Metadata, LOOPBACK_REDIRECT_URI};
use crate::protocol::{Desktop, LoginFlow};

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What tok knows of the client's grants.
#[derive(Debug, Clone, Copy)]
pub enum ClientGrants<'a> {
    /// A client tok registered: the grant types the provider gave it.
    Known(&'a [String]),
    /// An administrator's client (`--client-id`, a preset) or an old registration: tok cannot
    /// know.
    Unknown,
}

/// The flow chosen, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// `Code` or `Device`.
    pub flow: LoginFlow,
    pub why: String,
    /// Chosen by `auto` for a client whose grants tok does not know: a device flow the
    /// provider refuses to this client (`unauthorized_client`) may fall back to the browser.
    pub may_fall_back: bool,
}

impl Choice {
    /// The line `tok login` prints (after `tok login: `).
    pub fn note(&self) -> String {
        let how = match self.flow {
            LoginFlow::Code => "using the browser (code flow)",
            _ => "using a device code",
        };
        format!("{how}: {}", self.why)
    }
}

/// Chooses between the code and the device flow (the refresh flow is chosen by giving a
/// refresh token, before this).
pub fn choose(
    asked: Option<LoginFlow>,
    last: Option<LoginFlow>,
    desktop: Option<&Desktop>,
    md: &Metadata,
    client: ClientGrants,
) -> Choice {
    let fixed = |flow, why: &str| Choice {
        flow,
        why: why.to_string(),
        may_fall_back: false,
    };
    match asked {
        Some(LoginFlow::Code) => return fixed(LoginFlow::Code, "--flow code was given"),
        Some(LoginFlow::Device) => return fixed(LoginFlow::Device, "--flow device was given"),
        Some(LoginFlow::Auto) => {}
        Some(LoginFlow::Refresh) | None => {
            if let Some(flow @ (LoginFlow::Code | LoginFlow::Device)) = last {
                return fixed(
                    flow,
                    "this account logged in this way last time (--flow auto|code|device changes it)",
                );
            }
        }
    }
    let has = |grants: &[String], g: &str| grants.iter().any(|x| x == g);
    let (client_code, client_device) = match client {
        ClientGrants::Known(g) => (has(g, "authorization_code"), has(g, DEVICE_GRANT)),
        // An administrator's client: if the provider has a device endpoint, try that (it says
        // clearly when the client may not use it); if not, the browser is all there is.
        ClientGrants::Unknown => (!md.offers_device_flow(), true),
    };
    let unknown = matches!(client, ClientGrants::Unknown);
    let (desktop_ok, desktop_why) = match desktop {
        Some(d) => (d.usable, d.why.as_str()),
        None => (false, "no desktop session is known"),
    };
    let code_ok = md.offers_code_flow() && client_code;
    let device_ok = md.offers_device_flow() && client_device;
    let choice = |flow, why: String| Choice {
        flow,
        why,
        may_fall_back: unknown && flow == LoginFlow::Device && desktop_ok && md.offers_code_flow(),
    };
    if desktop_ok && code_ok {
        return choice(LoginFlow::Code, desktop_why.to_string());
    }
    if device_ok {
        let why = if !desktop_ok {
            desktop_why.to_string()
        } else if !md.offers_code_flow() {
            "the provider offers no browser login (no authorization_endpoint or code grant)".into()
        } else if unknown {
            "tok cannot tell whether this client may use the browser login (--flow code tries it)"
                .into()
        } else {
            "the client tok registered may not use the browser login".into()
        };
        return choice(LoginFlow::Device, why);
    }
    if code_ok {
        return choice(
            LoginFlow::Code,
            format!(
                "the provider or the client offers no device flow; open the link in a browser on this machine (the answer comes to {LOOPBACK_REDIRECT_URI})"
            ),
        );
    }
    choice(
        LoginFlow::Device,
        "neither flow is known to work here; trying the device flow".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(auth: bool, device: bool) -> Metadata {
        let mut v =
            serde_json::json!({"issuer": "https://op", "token_endpoint": "https://op/token"});
        if auth {
            v["authorization_endpoint"] = "https://op/auth".into();
        }
        if device {
            v["device_authorization_endpoint"] = "https://op/device".into();
        }
        serde_json::from_value(v).unwrap()
    }

    fn desk(usable: bool) -> Desktop {
        Desktop {
            usable,
            why: if usable {
                "a desktop".into()
            } else {
                "over ssh".into()
            },
        }
    }

    #[test]
    fn auto_follows_the_desktop_the_provider_and_the_client() {
        let both: Vec<String> = vec!["authorization_code".into(), DEVICE_GRANT.into()];
        let known = ClientGrants::Known(&both);
        let c = choose(None, None, Some(&desk(true)), &md(true, true), known);
        assert_eq!((c.flow, c.why.as_str()), (LoginFlow::Code, "a desktop"));
        assert!(c.note().starts_with("using the browser (code flow): "));
        let c = choose(None, None, Some(&desk(false)), &md(true, true), known);
        assert_eq!((c.flow, c.why.as_str()), (LoginFlow::Device, "over ssh"));
        assert!(c.note().starts_with("using a device code: "));
        let c = choose(None, None, Some(&desk(true)), &md(false, true), known);
        assert_eq!(c.flow, LoginFlow::Device);
        let device_only: Vec<String> = vec![DEVICE_GRANT.into()];
        let c = choose(
            None,
            None,
            Some(&desk(true)),
            &md(true, true),
            ClientGrants::Known(&device_only),
        );
        assert_eq!(c.flow, LoginFlow::Device);
        assert!(!c.may_fall_back);
        // An administrator's client: device first (falling back to the browser), or the
        // browser when the provider has no device endpoint.
        let c = choose(
            None,
            None,
            Some(&desk(true)),
            &md(true, true),
            ClientGrants::Unknown,
        );
        assert_eq!(c.flow, LoginFlow::Device);
        assert!(c.may_fall_back);
        let c = choose(
            None,
            None,
            Some(&desk(false)),
            &md(true, false),
            ClientGrants::Unknown,
        );
        assert_eq!(c.flow, LoginFlow::Code);
    }

    /// The provider's lists, when given, must name the code flow.
    #[test]
    fn the_code_flow_needs_the_provider_to_offer_it() {
        assert!(md(true, false).offers_code_flow());
        assert!(!md(false, true).offers_code_flow());
        let mut v = serde_json::json!({
            "issuer": "https://op", "token_endpoint": "https://op/token",
            "authorization_endpoint": "https://op/auth",
            "response_types_supported": ["id_token"],
        });
        assert!(!serde_json::from_value::<Metadata>(v.clone())
            .unwrap()
            .offers_code_flow());
        v["response_types_supported"] = serde_json::json!(["code", "id_token"]);
        v["grant_types_supported"] = serde_json::json!(["refresh_token"]);
        assert!(!serde_json::from_value::<Metadata>(v.clone())
            .unwrap()
            .offers_code_flow());
        v["grant_types_supported"] = serde_json::json!(["authorization_code"]);
        assert!(serde_json::from_value::<Metadata>(v)
            .unwrap()
            .offers_code_flow());
    }

    #[test]
    fn asked_and_remembered_flows_win_over_auto() {
        let m = md(true, true);
        let c = choose(
            Some(LoginFlow::Code),
            Some(LoginFlow::Device),
            Some(&desk(false)),
            &m,
            ClientGrants::Unknown,
        );
        assert_eq!(c.flow, LoginFlow::Code);
        let c = choose(
            None,
            Some(LoginFlow::Code),
            Some(&desk(false)),
            &m,
            ClientGrants::Unknown,
        );
        assert_eq!(c.flow, LoginFlow::Code);
        assert!(c.why.contains("last time"));
        let c = choose(
            Some(LoginFlow::Auto),
            Some(LoginFlow::Code),
            Some(&desk(false)),
            &m,
            ClientGrants::Unknown,
        );
        assert_eq!(c.flow, LoginFlow::Device);
        let c = choose(
            None,
            Some(LoginFlow::Refresh),
            Some(&desk(false)),
            &m,
            ClientGrants::Unknown,
        );
        assert_eq!(c.flow, LoginFlow::Device);
    }
}
