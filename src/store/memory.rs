//! A store that forgets everything when the agent stops: for tests and for machines with no
//! other backend, where losing the refresh token beats writing it somewhere unsafe.

use super::{check_key, SecretStore, StoreError, StoreKind};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, SecretString>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, SecretString>> {
        // A panic while holding the lock cannot leave the map half-updated, so poison is moot.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }

    fn notes(&self) -> Vec<String> {
        vec!["memory: nothing persisted".to_string()]
    }

    fn load(&self, key: &str) -> Result<Option<SecretString>, StoreError> {
        check_key(key)?;
        Ok(self.map().get(key).cloned())
    }

    fn save(&self, key: &str, value: &SecretString) -> Result<(), StoreError> {
        check_key(key)?;
        self.map().insert(key.to_string(), value.clone());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.map().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn round_trip() {
        let s = MemoryStore::new();
        assert!(s.load("refresh/cms").unwrap().is_none());
        s.save("refresh/cms", &SecretString::from("rt1")).unwrap();
        assert_eq!(
            s.load("refresh/cms").unwrap().unwrap().expose_secret(),
            "rt1"
        );
        s.save("refresh/cms", &SecretString::from("rt2")).unwrap();
        assert_eq!(
            s.load("refresh/cms").unwrap().unwrap().expose_secret(),
            "rt2"
        );
        s.delete("refresh/cms").unwrap();
        s.delete("refresh/cms").unwrap();
        assert!(s.load("refresh/cms").unwrap().is_none());
        assert_eq!(s.kind(), StoreKind::Memory);
        assert!(!s.is_locked());
    }
}
