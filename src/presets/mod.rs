//! Issuer presets: `tok login cms` or `tok login --issuer wlcg` instead of a URL, a client id
//! and the right audience style. Built in (public facts, `builtin.toml`) and extended or
//! overridden by the user's `$XDG_CONFIG_HOME/tok/issuers.toml` in the same format.

use crate::config::Narrowing;
use crate::protocol::AudienceParam;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BUILTIN: &str = include_str!("builtin.toml");

/// One provider as tok should talk to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    #[serde(default)]
    pub description: String,
    pub issuer: String,
    /// A public client registered for command-line tools; none: tok registers one (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Some providers give public tools a "secret" that is published with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Whether tok may register a client itself when there is no client id.
    #[serde(default = "yes")]
    pub registration: bool,
    #[serde(default)]
    pub audience_param: AudienceParam,
    /// Scopes asked for at login, besides `openid offline_access`.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub narrowing: Narrowing,
    #[serde(default)]
    pub refresh_invalidates_tokens: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    issuers: BTreeMap<String, Preset>,
}

#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}(fix or remove the file)")]
    Parse { path: PathBuf, message: String },
}

/// Every preset: built in, then the user's file (same name: the user's wins).
pub fn load(user_file: &Path) -> Result<BTreeMap<String, Preset>, PresetError> {
    let mut all = toml::from_str::<File>(BUILTIN)
        .expect("the built-in presets parse")
        .issuers;
    match std::fs::read_to_string(user_file) {
        Ok(text) => all.extend(parse(user_file, &text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(PresetError::Read {
                path: user_file.to_path_buf(),
                source,
            })
        }
    }
    Ok(all)
}

/// The presets in the text of an `issuers.toml` at `path` (named in errors).
pub fn parse(path: &Path, text: &str) -> Result<BTreeMap<String, Preset>, PresetError> {
    let file: File = toml::from_str(text).map_err(|e| PresetError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(file.issuers)
}

/// The preset for an issuer URL, if any (so a URL typed by hand still gets the quirks).
pub fn by_issuer<'a>(
    presets: &'a BTreeMap<String, Preset>,
    issuer: &str,
) -> Option<(&'a String, &'a Preset)> {
    presets
        .iter()
        .find(|(_, p)| crate::net::same_issuer(&p.issuer, issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_presets_parse_and_never_ask_for_personal_data() {
        let all = load(Path::new("/nonexistent/issuers.toml")).unwrap();
        for name in [
            "wlcg", "atlas", "cms", "lhcb", "alice", "dteam", "cern", "egi", "fermilab", "dune",
        ] {
            assert!(all.contains_key(name), "{name}");
        }
        for (name, p) in &all {
            assert!(p.issuer.starts_with("https://"), "{name}");
            for s in &p.scopes {
                assert!(
                    !["profile", "email", "address", "phone"].contains(&s.as_str()),
                    "{name}: {s}"
                );
            }
            crate::scope::normalise_scopes(&p.scopes).unwrap();
        }
        assert_eq!(all["cms"].audience_param, AudienceParam::Audience);
    }

    #[test]
    fn the_users_file_adds_and_overrides() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("issuers.toml");
        std::fs::write(
            &p,
            "[issuers.cms]\nissuer = \"https://cms-iam.example.org/\"\n[issuers.mine]\nissuer = \"https://iam.example.org\"\nnarrowing = \"none\"\n",
        )
        .unwrap();
        let all = load(&p).unwrap();
        assert_eq!(all["cms"].issuer, "https://cms-iam.example.org/");
        assert_eq!(all["mine"].narrowing, Narrowing::None);
        assert!(all["mine"].registration);
        assert_eq!(
            by_issuer(&all, "https://iam.example.org/").unwrap().0,
            "mine"
        );
        std::fs::write(&p, "[issuers.x]\nissuer = 3\n").unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("issuers.toml"));
    }
}
