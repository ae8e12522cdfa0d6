//! The `openbao` store against a real OpenBao server (`common::bao`): the store's API called
//! directly (round trips, check-and-set, leases, token renewal, a sealed server, refused and
//! expired tokens, TLS, addresses refused), then the real `tok` agent keeping its login there.
//! Every store here uses a least-privilege token made from the README's policy, so the policy
//! the README gives sites is the one proven sufficient.

use crate::common::bao::{Bao, BaoCluster};
use crate::common::{Provider, ProviderOpts, TestEnv};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use tok::store::openbao::{login_name, OpenBaoConfig, OpenBaoStore, TokenSource};
use tok::store::{SecretStore, StoreError, StoreKind};

mod agents;
mod standby;
mod store;

const USER: &str = "alice";

fn config(addr: &str, user: &str, token: &str) -> OpenBaoConfig {
    OpenBaoConfig {
        addr: addr.to_string(),
        mount: "secret".to_string(),
        prefix: format!("tok/{user}"),
        ca_file: None,
        token: TokenSource::Env {
            var: "BAO_TOKEN",
            token: SecretString::from(token.to_string()),
        },
    }
}

/// A store for `tok/alice` with a least-privilege token (an "agent" on some node).
fn store(bao: &Bao, token: &str) -> OpenBaoStore {
    OpenBaoStore::open(config(&bao.addr, USER, token)).expect("the store opens")
}

fn secret(v: &str) -> SecretString {
    SecretString::from(v.to_string())
}

fn value(s: &dyn SecretStore, key: &str) -> Option<String> {
    s.load(key).unwrap().map(|v| v.expose_secret().to_string())
}

#[track_caller]
fn err_text<T>(r: Result<T, StoreError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[track_caller]
fn assert_clean(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "a secret leaked into: {text}");
    }
}
