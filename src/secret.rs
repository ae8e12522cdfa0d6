//! Secret newtypes, so that a token can never be printed, logged or serialised by accident.
//!
//! Every token value tok handles lives in one of these wrappers. They zeroize on drop, their
//! `Debug` prints a redaction marker, and they have no `Display`. Reading the value requires an
//! explicit `expose()` call, which keeps the places that touch secrets easy to audit.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// The secret value. Call sites should pass it straight to where it must go.
            pub fn expose(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.expose() == other.expose()
            }
        }

        // Serialisation exists only for the agent protocol and the encrypted store, both of
        // which are private channels; config files never contain these types.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.expose())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = zeroize::Zeroizing::new(String::deserialize(d)?);
                Ok(Self::new(value.as_str()))
            }
        }
    };
}

secret_newtype!(
    /// A short-lived OAuth2 access token (a bearer credential).
    AccessToken
);
secret_newtype!(
    /// A long-lived OAuth2 refresh token; never leaves the agent.
    RefreshToken
);
secret_newtype!(
    /// A confidential client's secret (from `--client-secret-file` or dynamic registration).
    ClientSecret
);
secret_newtype!(
    /// The passphrase that unlocks the encrypted file store.
    Passphrase
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = RefreshToken::new("super-secret-value");
        let shown = format!("{t:?}");
        assert!(!shown.contains("super-secret-value"));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn serde_round_trip() {
        let t = AccessToken::new("abc.def");
        let json = serde_json::to_string(&t).unwrap();
        let back: AccessToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "abc.def");
    }
}
