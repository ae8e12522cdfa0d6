//! Non-secret settings and accounts, kept in `$XDG_CONFIG_HOME/tok/config.toml`.
//!
//! Only the agent writes this file (atomically); users may edit it by hand and the agent picks
//! up changes. Secrets never go here: refresh tokens and client secrets live in the store.

use crate::protocol::AudienceParam;
pub use crate::protocol::{LoginEnd, LoginEndSource, LoginFlow, Narrowing};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Scopes every login asks for: an ID token and a refresh token. Never `profile` or `email`
/// unless the user asks, because bearer tokens should not carry personal data.
pub const BASE_SCOPES: &[&str] = &["openid", "offline_access"];

/// A cached token is handed out only while it has at least this long to live.
pub const DEFAULT_MIN_VALID_SECS: u64 = 60;

/// `tok get` and friends warn this many days before a login ends (`login_warning_days`).
pub const DEFAULT_LOGIN_WARNING_DAYS: u64 = 3;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The account used when a command names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_account: Option<String>,
    /// Default minimum remaining lifetime for `tok get`, e.g. "60s" or "5m".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_min_valid: Option<String>,
    /// With a shared store (OpenBao): keep access tokens there too, so N nodes asking for the
    /// same scopes and audiences cost one provider refresh, not N.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub share_access_tokens: bool,
    /// Serve oidc-agent's clients on a second socket (on unless set to false; read when the
    /// agent starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_agent_socket: Option<bool>,
    /// Warn on stderr (once a day per account) when a login ends within this many days
    /// (default 3; 0 turns the warning off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_warning_days: Option<u64>,
    #[serde(default)]
    pub accounts: BTreeMap<String, Account>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub issuer: String,
    pub client_id: String,
    /// Whether a client secret is kept in the store under `client-secret/<name>`.
    #[serde(default)]
    pub has_client_secret: bool,
    /// Whether tok registered the client itself (RFC 7591).
    #[serde(default)]
    pub registered: bool,
    /// Scopes requested at login (always includes [`BASE_SCOPES`]).
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub audience_param: AudienceParam,
    /// Extra CA bundle (PEM) trusted for this provider, on top of the system store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Refuse tokens whose granted scopes are wider than asked (a provider that ignores a
    /// narrowed scope on refresh), instead of warning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact_scope: bool,
    /// The provider invalidates the access tokens issued earlier on a grant when it refreshes
    /// (django-oauth-toolkit): the cache then drops the account's other tokens after a refresh.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh_invalidates_tokens: bool,
    /// How a narrower token is obtained.
    #[serde(default, skip_serializing_if = "Narrowing::is_default")]
    pub narrowing: Narrowing,
    /// The agent forgets the login at this time (unix seconds; `tok login --lifetime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_not_after: Option<u64>,
    /// When the provider said the login ends (`refresh_expires_in`, a JWT refresh token's
    /// `exp`), learned at the login and moved by refreshes; not a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_end: Option<LoginEnd>,
    /// Each use must be confirmed through TOK_ASKPASS (`tok login --confirm`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
    /// The flow the account last logged in with (`code`, `device`, `refresh`): `tok login NAME`
    /// uses it again unless `--flow` says otherwise. Unset (older configs): `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_flow: Option<LoginFlow>,
    /// The grant types a client tok registered was given (RFC 7591); empty when unknown (an
    /// administrator's client, or one registered before tok asked for the code flow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_grants: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}(fix or remove the file)")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid account name `{0}`: use letters, digits, `.`, `_` and `-` only")]
    BadName(String),
    #[error("{path}: default_min_valid `{value}` is not a duration such as 60s or 5m")]
    BadDuration { path: PathBuf, value: String },
}

impl Account {
    /// When the login ends, as far as anyone said: the earliest of the provider's word and
    /// `--lifetime`.
    pub fn login_ends(&self, provider: Option<LoginEnd>) -> Option<LoginEnd> {
        let lifetime = self.login_not_after.map(|at| LoginEnd {
            at,
            source: LoginEndSource::Lifetime,
        });
        LoginEnd::earliest(provider.or(self.login_end), lifetime)
    }
}

/// The names of [`Account`]'s fields, as serde knows them (so the list has one home, the
/// struct): what a list published by a newer tok is trimmed to (`agent/nodes.rs`).
pub fn account_fields() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    /// A deserializer that only notes the field names serde asks it for.
    struct Names<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Names<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("field names only"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("field names only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    static FIELDS: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut fields: &'static [&'static str] = &[];
        let _ = Account::deserialize(Names(&mut fields));
        fields
    })
}

impl Config {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Self::parse(path, &text)
    }

    /// Parses and checks the text of the file at `path` (named in errors): what [`Config::load`]
    /// does once the file is read.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for name in config.accounts.keys() {
            validate_name(name)?;
        }
        config.min_valid_secs(path)?;
        Ok(config)
    }

    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        crate::dirs::write_atomic(path, self.text().as_bytes()).map_err(err)
    }

    /// The file's text as [`Config::save`] writes it.
    pub fn text(&self) -> String {
        let mut text = String::from(
            "# tok configuration: non-secret settings only. Refresh tokens live in the store.\n",
        );
        text.push_str(&toml::to_string_pretty(self).expect("config serialises"));
        text
    }

    pub fn min_valid_secs(&self, path: &Path) -> Result<u64, ConfigError> {
        match &self.default_min_valid {
            None => Ok(DEFAULT_MIN_VALID_SECS),
            Some(v) => humantime::parse_duration(v)
                .map(|d| d.as_secs())
                .map_err(|_| ConfigError::BadDuration {
                    path: path.to_path_buf(),
                    value: v.clone(),
                }),
        }
    }

    /// How long before a login's end `tok get` starts warning; 0: never.
    pub fn login_warning_secs(&self) -> u64 {
        self.login_warning_days
            .unwrap_or(DEFAULT_LOGIN_WARNING_DAYS)
            .saturating_mul(86400)
    }

    /// Finds the account a request means: by name, by issuer, or the default.
    pub fn resolve(&self, name: Option<&str>, issuer: Option<&str>) -> Result<String, String> {
        if let Some(name) = name {
            if self.accounts.contains_key(name) {
                return Ok(name.to_string());
            }
            let known: Vec<&str> = self.accounts.keys().map(String::as_str).collect();
            let guess = known
                .iter()
                .map(|k| (edit_distance(k, name), *k))
                .filter(|(d, k)| *d <= 2 && *d < k.len().max(name.len()))
                .min();
            return Err(match (guess, known.is_empty()) {
                (Some((_, k)), _) => format!(
                    "no account named `{name}`; did you mean `{k}`? (accounts: {})",
                    known.join(", ")
                ),
                (None, false) => format!(
                    "no account named `{name}` (accounts: {}); to add it: `tok login {name} --issuer URL`",
                    known.join(", ")
                ),
                (None, true) => format!(
                    "no account named `{name}`; run `tok login {name} --issuer URL` (or `tok login {name}` for a preset in `tok issuers`)"
                ),
            });
        }
        if let Some(issuer) = issuer {
            let matches: Vec<&String> = self
                .accounts
                .iter()
                .filter(|(_, a)| crate::net::same_issuer(&a.issuer, issuer))
                .map(|(n, _)| n)
                .collect();
            return match matches.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(format!(
                    "no account for issuer {issuer}; run `tok login NAME --issuer {issuer}`"
                )),
                _ => Err(format!(
                    "several accounts use issuer {issuer}; pick one with --account"
                )),
            };
        }
        if let Some(d) = &self.default_account {
            if self.accounts.contains_key(d) {
                return Ok(d.clone());
            }
        }
        match self.accounts.len() {
            1 => Ok(self.accounts.keys().next().cloned().unwrap_or_default()),
            0 => Err("no account yet; run `tok login NAME --issuer URL`".to_string()),
            _ => Err(
                "several accounts and no default; pass --account NAME (or set default_account)"
                    .to_string(),
            ),
        }
    }
}

/// Levenshtein distance, for "did you mean" (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

pub fn validate_name(name: &str) -> Result<(), ConfigError> {
    if crate::name::is_name(name, 64, b"") {
        Ok(())
    } else {
        Err(ConfigError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(issuer: &str) -> Account {
        Account {
            issuer: issuer.into(),
            client_id: "c".into(),
            has_client_secret: false,
            registered: true,
            scopes: vec!["openid".into()],
            audience_param: AudienceParam::Audience,
            ca_file: None,
            exact_scope: false,
            refresh_invalidates_tokens: false,
            narrowing: Narrowing::Refresh,
            login_not_after: None,
            login_end: None,
            confirm: false,
            login_flow: None,
            client_grants: vec![],
        }
    }

    #[test]
    fn save_and_load_round_trip() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("tok/config.toml");
        let mut c = Config::default();
        c.accounts.insert("cms".into(), account("https://op"));
        c.default_account = Some("cms".into());
        c.save(&p).unwrap();
        assert_eq!(Config::load(&p).unwrap(), c);
    }

    #[test]
    fn parse_error_names_the_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("config.toml");
        std::fs::write(&p, "accounts = 3").unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("config.toml"), "{e}");
    }

    #[test]
    fn resolve_by_name_issuer_and_default() {
        let mut c = Config::default();
        c.accounts.insert("a".into(), account("https://one/"));
        c.accounts.insert("b".into(), account("https://two"));
        assert_eq!(c.resolve(Some("a"), None).unwrap(), "a");
        assert_eq!(c.resolve(None, Some("https://one")).unwrap(), "a");
        assert!(c.resolve(None, None).is_err());
        c.default_account = Some("b".into());
        assert_eq!(c.resolve(None, None).unwrap(), "b");
        assert!(c
            .resolve(Some("zz"), None)
            .unwrap_err()
            .contains("tok login zz"));
        let e = c.resolve(Some("aa"), None).unwrap_err();
        assert!(e.contains("did you mean `a`"), "{e}");
        assert!(e.contains("accounts: a, b"), "{e}");
    }

    #[test]
    fn account_fields_are_serdes() {
        let f = account_fields();
        assert!(f.contains(&"issuer") && f.contains(&"login_end") && f.contains(&"confirm"));
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(validate_name("cms-prod_1.x").is_ok());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name("").is_err());
    }
}
