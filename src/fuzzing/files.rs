//! Fuzz entry points for the files a user, a file transfer or a damaged disk may hand tok:
//! config.toml, issuers.toml presets, job credentials and the sealed file store.

use super::*;

/// `config.toml`: what parses must save (the agent rewrites the file) and read back the same.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("config.toml");
    let Ok(config) = Config::parse(path, text) else {
        return;
    };
    let saved = config.text();
    let back = Config::parse(path, &saved).expect("a saved configuration reads back");
    assert_eq!(back, config, "a configuration changed on a round trip");
    let _ = config.resolve(None, None);
    for (name, account) in &config.accounts {
        assert_eq!(
            config.resolve(Some(name), None).as_deref(),
            Ok(name.as_str())
        );
        let _ = config.resolve(None, Some(&account.issuer));
    }
}

/// Words a parse error may quote because they are tok's own (field and variant names), not
/// values from the file.
pub(super) const CREDENTIAL_WORDS: &[&str] = &[
    "tok_credential",
    "id",
    "account",
    "issuer",
    "token_endpoint",
    "revocation_endpoint",
    "client_id",
    "client_secret",
    "client_auth",
    "refresh_token",
    "scopes",
    "audiences",
    "audience_param",
    "created_at",
    "not_after",
    "ca_pem",
    "resource",
    "audience",
];

/// Every string in a JSON value (keys and values).
pub(super) fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// A job credential file: what parses must save and read back the same and allow its own
/// scopes; what does not parse is refused without quoting the file (it holds a refresh token).
pub fn credential(data: &[u8]) {
    let path = Path::new("job.cred");
    match credential::parse(path, data) {
        Ok(c) => {
            let saved = serde_json::to_string_pretty(&c).expect("a credential serialises");
            let back: JobCredential =
                credential::parse(path, saved.as_bytes()).expect("a saved credential reads back");
            let again = serde_json::to_string_pretty(&back).expect("a credential serialises");
            assert_eq!(saved, again, "a credential changed on a round trip");
            credential::allowed_request(path, &c, &c.scopes, &c.audiences)
                .expect("a credential allows what it was delegated");
            credential::allowed_request(path, &c, &[], &[]).expect("and its defaults");
            let _ = credential::metadata(&c);
            let _ = crate::time::rfc3339(c.not_after);
        }
        Err(e) => {
            let message = e.to_string();
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
                return;
            };
            let mut found = Vec::new();
            strings(&value, &mut found);
            for s in found {
                if s.is_empty() || CREDENTIAL_WORDS.contains(&s.as_str()) {
                    continue;
                }
                for quoted in [format!("{s:?}"), format!("`{s}`"), format!("\"{s}\"")] {
                    assert!(!message.contains(&quoted), "quotes {quoted}: {message}");
                }
            }
        }
    }
}

/// An `issuers.toml`: its presets, looked up by issuer as `tok login` does, and listed as
/// `tok issuers --json` does.
pub fn presets(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(all) = presets::parse(Path::new("issuers.toml"), text) else {
        return;
    };
    for preset in all.values() {
        let (_, found) = presets::by_issuer(&all, &preset.issuer).expect("its own issuer");
        assert!(crate::net::same_issuer(&found.issuer, &preset.issuer));
        let _ = scope::normalise_scopes(&preset.scopes);
        let _ = crate::net::check_url("issuer", &preset.issuer);
    }
    let _ = serde_json::to_string_pretty(&all);
}

/// The passphrase the sealed-store seeds in `fuzz/corpus/sealed_store` were made with.
pub const SEALED_PASSPHRASE: &str = "fuzz-passphrase";

/// The encrypted file store's file: the header always; the key derivation, the passphrase
/// check, the decryption and the entry map (as `tok unlock` reads them) when the header asks
/// for a cheap key derivation, since the fuzzer would otherwise only measure Argon2.
pub fn sealed_store(data: &[u8]) {
    let Ok(header) = sealed::parse_header(data) else {
        return;
    };
    let p = header.params;
    if p.m_cost_kib > 256 || p.t_cost > 2 || p.p_cost > 2 {
        return;
    }
    let path = Path::new("secrets.enc");
    if let Ok((_key, plain)) = sealed::open(path, data, &Passphrase::new(SEALED_PASSPHRASE)) {
        let _ = serde_json::from_slice::<BTreeMap<String, secrecy::SecretString>>(&plain);
    }
}
