//! Issuer presets at login: `--issuer NAME`, a new account named like a preset, or an issuer URL
//! a preset describes fill in what the command line left open.

use crate::cli::LoginArgs;
use crate::error::Error;
use crate::presets;
use crate::protocol::{AudienceParam, Narrowing};
use crate::secret::ClientSecret;

/// What a preset fills in that the command line left open.
pub(super) struct FromPreset {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<ClientSecret>,
    pub scopes: Vec<String>,
    pub audience_param: Option<AudienceParam>,
    pub narrowing: Option<Narrowing>,
    pub refresh_invalidates_tokens: Option<bool>,
}

/// Applies an issuer preset: `--issuer NAME` names one; a new account named like one uses it; an
/// issuer URL that a preset describes gets its settings. Explicit options always win.
pub(super) fn apply_preset(args: &LoginArgs) -> Result<FromPreset, Error> {
    let presets =
        presets::load(&crate::dirs::issuers_file()).map_err(|e| Error::Usage(e.to_string()))?;
    let config = crate::config::Config::load(&crate::dirs::config_file())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let known = args
        .name
        .as_ref()
        .is_some_and(|n| config.accounts.contains_key(n));
    let chosen = match (&args.issuer, &args.name) {
        (Some(i), _) if !i.contains("://") => match presets.get_key_value(i.as_str()) {
            Some(found) => Some(found),
            None => {
                return Err(Error::Usage(format!(
                    "`{i}` is neither an issuer URL nor a preset; `tok issuers` lists the presets, or give the full https:// address"
                )))
            }
        },
        (Some(i), _) => presets::by_issuer(&presets, i),
        (None, Some(n)) if !known => presets.get_key_value(n.as_str()),
        (None, _) => None,
    };
    let Some((preset_name, preset)) = chosen else {
        return Ok(FromPreset {
            name: args.name.clone(),
            issuer: args.issuer.clone(),
            client_id: args.client_id.clone(),
            client_secret: None,
            scopes: args.scopes.clone(),
            audience_param: args.audience_param,
            narrowing: None,
            refresh_invalidates_tokens: None,
        });
    };
    eprintln!(
        "tok login: using the preset `{preset_name}`: {} ({})",
        preset.issuer, preset.description
    );
    let client_id = args.client_id.clone().or_else(|| preset.client_id.clone());
    if client_id.is_none() && !preset.registration {
        return Err(Error::Usage(format!(
            "{} offers tok no client of its own: pass --client-id (and --client-secret-file) of a client registered there ({})",
            preset.issuer, preset.description
        )));
    }
    Ok(FromPreset {
        name: args.name.clone().or_else(|| Some(preset_name.clone())),
        issuer: Some(preset.issuer.clone()),
        // A published "secret" goes with the preset's own client only.
        client_secret: match (&args.client_id, &preset.client_secret) {
            (None, Some(s)) => Some(ClientSecret::new(s.as_str())),
            _ => None,
        },
        client_id,
        scopes: if args.scopes.is_empty() && !known {
            preset.scopes.clone()
        } else {
            args.scopes.clone()
        },
        audience_param: args.audience_param.or(Some(preset.audience_param)),
        narrowing: Some(preset.narrowing),
        refresh_invalidates_tokens: Some(preset.refresh_invalidates_tokens),
    })
}
