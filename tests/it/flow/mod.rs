//! The main user journey: login, get, cache, narrowing, audiences, rotation, restart, logout.

use crate::common::{jwt_claims, Approval, Provider, ProviderOpts, TestEnv};

mod login;
mod stores_and_terminal;
