//! Integration tests: the real `tok` binary against a real OpenID Provider on loopback.
//! Each test seals its own runtime, config and data directories (see `common::TestEnv`).

mod agent;
mod answers;
mod arc;
mod bao;
mod common;
mod completion;
mod crash;
mod crowd;
mod delegate;
mod dot;
mod env_exec;
mod errors;
mod everyday;
mod faults;
mod file_store;
mod flow;
mod grid_clients;
mod grid_wrappers;
mod hostile;
mod keyring;
mod lock_inflight;
mod login_end;
mod login_flows;
mod oidc_agent_hostile;
mod oidc_agent_import;
mod oidc_agent_libs;
mod oidc_agent_token;
mod per_job;
mod policy;
mod providers;
mod second_provider;
mod security;
mod static_binary;
mod ux;
mod xrootd;
