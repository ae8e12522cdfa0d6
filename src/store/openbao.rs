//! OpenBao (or HashiCorp Vault) as a store that every node a user works on shares, so that one
//! `tok login` serves a whole pool of login nodes and access points.
//!
//! Secrets live in a KV version 2 mount (default `secret`) under a per-user prefix (default
//! `tok/<login name>`), one KV entry per store key holding `{"value": …}`. Because several agents
//! use the same entries, the store also offers what they need to co-operate: check-and-set
//! writes against the KV version, leases written with check-and-set (`{holder, expires_at}`)
//! so one agent at a time refreshes an account, and non-secret JSON documents (account
//! definitions) for nodes that never ran `tok login`.
//!
//! Calls are blocking (`reqwest::blocking`; the agent runs store calls on blocking threads),
//! with rustls, a 5 s connect and 10 s request timeout, no redirects, and https only except on
//! loopback. The OpenBao token comes from `BAO_TOKEN`/`VAULT_TOKEN` or `~/.vault-token` (re-read
//! when a new `bao login` replaces it), is renewed with `renew-self` on use once less than half
//! of its TTL is left, and is never logged. Nothing secret reaches an error or a log line: not a
//! stored value, not the token (OpenBao's own lookup answer carries it, so answers are parsed
//! into types that drop it). [`notes`](SecretStore::notes) is answered from memory only: the
//! agent calls it on its async threads, where no I/O may happen.

use super::{check_key, SecretStore, StoreError, StoreKind};
use crate::net::{self, CappedRead, TransportFailure};
use reqwest::blocking::Client;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use zeroize::Zeroizing;

const BACKEND: &str = "openbao";
/// Connect timeout for every OpenBao call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout for every OpenBao call.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The KV version 2 mount used when `TOK_BAO_MOUNT` is unset.
pub const DEFAULT_MOUNT: &str = "secret";
/// Answers larger than this are refused (a KV entry of tok's is well under 16 KiB).
const MAX_ANSWER: usize = 1024 * 1024;
/// How long a failed token lookup is not retried (it costs a round trip on every use).
const LOOKUP_RETRY: Duration = Duration::from_secs(60);
/// How many times a lease is re-read after losing a check-and-set race before giving up.
const LEASE_TRIES: usize = 4;

/// Where the OpenBao token comes from.
#[derive(Clone)]
pub enum TokenSource {
    /// An environment variable's value; `var` names it in messages.
    Env {
        var: &'static str,
        token: SecretString,
    },
    /// A token file such as `~/.vault-token` (what `bao login` writes), re-read when it changes.
    File(PathBuf),
}

impl TokenSource {
    fn describe(&self) -> String {
        match self {
            TokenSource::Env { var, .. } => var.to_string(),
            TokenSource::File(path) => path.display().to_string(),
        }
    }
}

/// Everything the store needs to know; [`OpenBaoConfig::from_env`] reads the usual variables.
#[derive(Clone)]
pub struct OpenBaoConfig {
    /// `https://openbao.example.org:8200` (http only on loopback).
    pub addr: String,
    /// The KV version 2 mount, e.g. `secret`.
    pub mount: String,
    /// Where this user's entries live inside the mount, e.g. `tok/alice`.
    pub prefix: String,
    /// Extra PEM CA certificates to trust, on top of the system store.
    pub ca_file: Option<PathBuf>,
    pub token: TokenSource,
}

impl OpenBaoConfig {
    /// `BAO_ADDR`/`VAULT_ADDR`, `BAO_CACERT`/`VAULT_CACERT`, `BAO_TOKEN`/`VAULT_TOKEN` (else
    /// `~/.vault-token`), `TOK_BAO_MOUNT` (default `secret`), `TOK_BAO_PREFIX` (default
    /// `tok/<login name>`).
    pub fn from_env() -> Result<Self, StoreError> {
        let addr = env_first(&["BAO_ADDR", "VAULT_ADDR"])
            .map(|(_, v)| v)
            .ok_or_else(|| {
                unavailable(
                    "no OpenBao address: set BAO_ADDR (or VAULT_ADDR), e.g. \
                     BAO_ADDR=https://openbao.example.org:8200"
                        .to_string(),
                )
            })?;
        let ca_file = env_first(&["BAO_CACERT", "VAULT_CACERT"]).map(|(_, v)| PathBuf::from(v));
        let mount = env_first(&["TOK_BAO_MOUNT"])
            .map(|(_, v)| v)
            .unwrap_or_else(|| DEFAULT_MOUNT.to_string());
        let prefix = env_first(&["TOK_BAO_PREFIX"])
            .map(|(_, v)| v)
            .unwrap_or_else(|| format!("tok/{}", login_name()));
        let token = match crate::environ::credential(crate::environ::OPENBAO_TOKEN_NAMES) {
            Some((var, v)) => TokenSource::Env {
                var,
                token: SecretString::from(v.trim().to_string()),
            },
            None => TokenSource::File(home_dir().join(".vault-token")),
        };
        Ok(Self {
            addr,
            mount,
            prefix,
            ca_file,
            token,
        })
    }
}

/// The first of `names` that is set and not empty, and its value.
fn env_first(names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|n| {
        std::env::var(n)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*n, v))
    })
}

/// The login name of the effective user (the default path prefix is `tok/<login name>`), made
/// safe as one path segment.
pub fn login_name() -> String {
    let name = passwd_entry()
        .map(|(name, _)| name)
        .or_else(|| env_first(&["USER", "LOGNAME"]).map(|(_, v)| v))
        .unwrap_or_else(|| format!("uid{}", crate::dirs::euid()));
    let safe: String = name
        .chars()
        .map(|c| if segment_char(c) { c } else { '_' })
        .collect();
    match safe.as_str() {
        "" | "." | ".." => format!("uid{}", crate::dirs::euid()),
        _ => safe,
    }
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| passwd_entry().map(|(_, dir)| dir))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The effective user's name and home directory from the password database.
fn passwd_entry() -> Option<(String, PathBuf)> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for a plain C struct of pointers and ints.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live, writable storage of the size passed.
    let rc = unsafe {
        libc::getpwuid_r(
            crate::dirs::euid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so both fields are NUL-terminated strings inside `buf`.
    let (name, dir) = unsafe { (CStr::from_ptr(pwd.pw_name), CStr::from_ptr(pwd.pw_dir)) };
    Some((
        name.to_string_lossy().into_owned(),
        PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())),
    ))
}

fn segment_char(c: char) -> bool {
    c.is_ascii() && crate::name::is_name_byte(c as u8, b"@")
}

/// A `/`-separated OpenBao path (mount, prefix or key) whose segments cannot escape where they
/// are put: no empty, `.` or `..` segment, and only letters, digits and `._-@`.
fn check_path(what: &str, value: &str) -> Result<(), String> {
    let bad = value.is_empty()
        || value.len() > 400
        || value
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || !s.chars().all(segment_char));
    if bad {
        Err(format!(
            "{what} `{}` is not a usable OpenBao path: use `/`-separated names of letters, digits \
             and `._-@` (no empty, `.` or `..` parts)",
            value.escape_debug()
        ))
    } else {
        Ok(())
    }
}

/// Store keys become KV paths under the prefix: `refresh/cms` → `<prefix>/refresh/cms`. The
/// generic key check allows `..` and empty segments, which would climb out of the prefix here.
fn check_store_key(key: &str) -> Result<(), StoreError> {
    check_key(key)?;
    check_path("key", key).map_err(|_| StoreError::InvalidKey {
        key: key.to_string(),
    })
}

/// What is known about the OpenBao token's lifetime, for renewal and `tok status`.
#[derive(Clone, Debug, PartialEq)]
enum Ttl {
    /// Not looked up yet (or the token changed, or OpenBao refused it since).
    Unknown,
    /// `lookup-self` failed at `at`; retried after a while, or at the next successful request
    /// when the failure was `transient` (sealed, unreachable) rather than a refusal.
    LookupFailed {
        at: Instant,
        why: String,
        transient: bool,
    },
    /// A token that never expires (root tokens, or a TTL of 0).
    NoExpiry,
    Expires {
        at: Instant,
        /// The TTL granted when it was created or last renewed: renewal starts below half.
        full: Duration,
        renewable: bool,
        /// Renewing stopped extending it (its maximum TTL is reached).
        capped: bool,
    },
}

#[derive(Debug, PartialEq)]
enum Upkeep {
    Nothing,
    Lookup,
    Renew,
}

/// Renew when less than half of the granted TTL is left, while the token is renewable and
/// renewing still helps; look the token up when nothing is known, or when it should have
/// expired (someone may have renewed it, or it is gone: the lookup tells).
fn upkeep(ttl: &Ttl, now: Instant) -> Upkeep {
    match ttl {
        Ttl::Unknown => Upkeep::Lookup,
        Ttl::LookupFailed { at, .. } if now.saturating_duration_since(*at) >= LOOKUP_RETRY => {
            Upkeep::Lookup
        }
        Ttl::LookupFailed { .. } | Ttl::NoExpiry => Upkeep::Nothing,
        Ttl::Expires {
            at,
            full,
            renewable,
            capped,
        } => {
            if *at <= now {
                Upkeep::Lookup
            } else if *renewable && !*capped && at.saturating_duration_since(now) < *full / 2 {
                Upkeep::Renew
            } else {
                Upkeep::Nothing
            }
        }
    }
}

/// The token and what is known about it. Held only for moments, never across I/O: `notes`
/// reads it from the agent's async threads.
struct Session {
    token: Option<SecretString>,
    /// The token file's modification time when it was read (file tokens only).
    token_mtime: Option<SystemTime>,
    ttl: Ttl,
    last_error: Option<String>,
    renewals: u64,
}

/// The OpenBao/Vault store. See the module documentation.
pub struct OpenBaoStore {
    /// The server's address with a trailing `/`, for joining API paths.
    base: url::Url,
    /// The address as shown in messages (no trailing `/`).
    addr: String,
    mount: String,
    prefix: String,
    source: TokenSource,
    http: Client,
    session: Mutex<Session>,
    /// Serialises token lookups and renewals (one round trip, not one per thread).
    upkeep: Mutex<()>,
}

/// How a KV read came out: the data, if any, and the entry's current version (0: none; a
/// deleted latest version reports its number with no data).
struct KvEntry<T> {
    data: Option<T>,
    version: u64,
}

#[derive(Deserialize)]
struct KvReadAnswer<T> {
    data: Option<KvReadData<T>>,
}

#[derive(Deserialize)]
struct KvReadData<T> {
    data: Option<T>,
    metadata: Option<KvMetadata>,
}

#[derive(Deserialize)]
struct KvMetadata {
    #[serde(default)]
    version: u64,
}

#[derive(Deserialize)]
struct SecretValue {
    value: SecretString,
}

#[derive(Serialize)]
struct SecretOut<'a> {
    value: &'a str,
}

#[derive(Serialize, Deserialize)]
struct Document {
    json: String,
}

/// A lease as stored: who holds it and until when (Unix seconds, fractional). A free lease
/// has an empty holder.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Lease {
    holder: String,
    expires_at: f64,
}

#[derive(Serialize)]
struct KvWrite<'a, T: Serialize> {
    data: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<CasOption>,
}

#[derive(Serialize)]
struct CasOption {
    cas: u64,
}

/// The fields of `auth/token/lookup-self` tok reads. The answer also holds the token itself
/// (`id`), which is deliberately not a field here.
#[derive(Deserialize)]
struct LookupAnswer {
    data: LookupData,
}

#[derive(Deserialize)]
struct LookupData {
    #[serde(default)]
    ttl: u64,
    #[serde(default)]
    creation_ttl: u64,
    #[serde(default)]
    renewable: bool,
}

/// The fields of `auth/token/renew-self` tok reads (`auth.client_token` is left out).
#[derive(Deserialize)]
struct RenewAnswer {
    auth: RenewAuth,
}

#[derive(Deserialize)]
struct RenewAuth {
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize, Default)]
struct ErrorsAnswer {
    #[serde(default)]
    errors: Vec<String>,
}

/// What a request should do with the KV path: read or write the data, or delete every version.
enum Area {
    Data,
    Metadata,
}

impl OpenBaoStore {
    /// Checks the settings and builds the HTTP client. A token that is missing, expired or
    /// refused, or a server that is sealed or down, does not fail opening: each use says so,
    /// and recovers by itself once the token or the server is back.
    pub fn open(cfg: OpenBaoConfig) -> Result<Self, StoreError> {
        let mut base = net::check_url("the OpenBao address", &cfg.addr)
            .map_err(|e| unavailable(format!("{e} (BAO_ADDR)")))?;
        if !base.username().is_empty() || base.password().is_some() {
            return Err(unavailable(format!(
                "the OpenBao address {} holds a user name or password; give the plain address \
                 and the token in BAO_TOKEN or ~/.vault-token",
                base.host_str().unwrap_or("")
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(unavailable(format!(
                "the OpenBao address `{}` has a query or fragment; give scheme, host and port, e.g. https://openbao.example.org:8200",
                cfg.addr
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let addr = base.as_str().trim_end_matches('/').to_string();
        check_path("the KV mount (TOK_BAO_MOUNT)", &cfg.mount).map_err(unavailable)?;
        check_path("the path prefix (TOK_BAO_PREFIX)", &cfg.prefix).map_err(unavailable)?;
        let roots = match &cfg.ca_file {
            Some(path) => read_ca(path)?,
            None => vec![],
        };
        let timeouts = net::Timeouts {
            connect: CONNECT_TIMEOUT,
            request: REQUEST_TIMEOUT,
            pool_idle: Duration::from_secs(60),
        };
        let http = net::blocking_client(timeouts, roots)
            .map_err(|e| unavailable(format!("{e} for OpenBao")))?;
        let store = Self {
            base,
            addr,
            mount: cfg.mount,
            prefix: cfg.prefix,
            source: cfg.token,
            http,
            session: Mutex::new(Session {
                token: None,
                token_mtime: None,
                ttl: Ttl::Unknown,
                last_error: None,
                renewals: 0,
            }),
            upkeep: Mutex::new(()),
        };
        // Learn the token's TTL now, so that `tok status` can show it; failures are only noted.
        if let Ok(token) = store.token() {
            store.keep_alive(&token);
        }
        Ok(store)
    }

    /// The server address, as shown in messages.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `<mount>/<prefix>`, where this user's entries live.
    pub fn location(&self) -> String {
        format!("{}/{}", self.mount, self.prefix)
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        // Nothing is left half-done under this lock, so poison is moot.
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token to send: the environment's, or the token file's (re-read when it changed).
    fn token(&self) -> Result<SecretString, StoreError> {
        let path = match &self.source {
            TokenSource::Env { token, var } => {
                if token.expose_secret().is_empty() {
                    return Err(self.no_token(&format!("{var} is empty")));
                }
                return Ok(token.clone());
            }
            TokenSource::File(path) => path,
        };
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        {
            let s = self.session();
            if let Some(t) = &s.token {
                if mtime.is_some() && s.token_mtime == mtime {
                    return Ok(t.clone());
                }
            }
        }
        let fresh = read_token_file(path).map_err(|why| self.no_token(&why))?;
        let mut s = self.session();
        s.token = Some(fresh.clone());
        s.token_mtime = mtime;
        s.ttl = Ttl::Unknown;
        Ok(fresh)
    }

    fn no_token(&self, why: &str) -> StoreError {
        let e = StoreError::Backend {
            backend: BACKEND,
            reason: format!(
                "no OpenBao token for {} ({why}): run `bao login -method=…` (it writes \
                 ~/.vault-token) or set BAO_TOKEN",
                self.addr
            ),
        };
        self.session().last_error = Some(e.to_string());
        e
    }

    /// Looks the token up when nothing is known about it, and renews it once less than half
    /// of its TTL is left. Failures here are noted, not returned: the request that follows
    /// says what is wrong if the token really is unusable.
    fn keep_alive(&self, token: &SecretString) {
        let _one_at_a_time = self.upkeep.lock().unwrap_or_else(|p| p.into_inner());
        let todo = upkeep(&self.session().ttl, Instant::now());
        match todo {
            Upkeep::Nothing => {}
            Upkeep::Lookup => {
                let ttl = match self.lookup(token) {
                    Ok(ttl) => ttl,
                    Err(e) => {
                        tracing::debug!(addr = %self.addr, "OpenBao token lookup failed: {e}");
                        Ttl::LookupFailed {
                            at: Instant::now(),
                            why: short_reason(&e),
                            transient: matches!(e, StoreError::Unavailable { .. }),
                        }
                    }
                };
                self.session().ttl = ttl;
            }
            Upkeep::Renew => match self.renew(token) {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(addr = %self.addr, "cannot renew the OpenBao token: {e}");
                }
            },
        }
    }

    fn lookup(&self, token: &SecretString) -> Result<Ttl, StoreError> {
        let what = "look up its token";
        let (status, body) =
            self.send(token, Method::GET, "auth/token/lookup-self", None, what, "")?;
        if status != StatusCode::OK {
            return Err(self.failure(status, &body, what, "", &[]));
        }
        let a: LookupAnswer = parse(&body).map_err(|e| self.garbled(what, "", &e))?;
        let d = a.data;
        Ok(if d.ttl == 0 {
            Ttl::NoExpiry
        } else {
            Ttl::Expires {
                at: Instant::now() + Duration::from_secs(d.ttl),
                full: Duration::from_secs(d.creation_ttl.max(d.ttl)),
                renewable: d.renewable,
                capped: false,
            }
        })
    }

    fn renew(&self, token: &SecretString) -> Result<(), StoreError> {
        let what = "renew its token";
        let (status, body) = self.send(
            token,
            Method::POST,
            "auth/token/renew-self",
            Some(b"{}".to_vec()),
            what,
            "",
        )?;
        if status != StatusCode::OK {
            return Err(self.failure(status, &body, what, "", &[]));
        }
        let a: RenewAnswer = parse(&body).map_err(|e| self.garbled(what, "", &e))?;
        let now = Instant::now();
        let granted = Duration::from_secs(a.auth.lease_duration);
        let mut s = self.session();
        let old_at = match &s.ttl {
            Ttl::Expires { at, .. } => Some(*at),
            _ => None,
        };
        let new_at = now + granted;
        // No progress: the token's maximum TTL is reached; stop asking.
        let capped = old_at.is_some_and(|old| new_at <= old + Duration::from_secs(1));
        let full = match &s.ttl {
            Ttl::Expires { full, .. } if capped => *full,
            _ => granted,
        };
        s.ttl = if a.auth.lease_duration == 0 {
            Ttl::NoExpiry
        } else {
            Ttl::Expires {
                at: new_at,
                full,
                renewable: a.auth.renewable,
                capped,
            }
        };
        s.renewals += 1;
        drop(s);
        tracing::info!(addr = %self.addr, ttl_s = granted.as_secs(), capped, "renewed the OpenBao token");
        Ok(())
    }

    /// One HTTP exchange. `what` and `target` (a store key, never a value) name it in errors.
    /// Returns the status and the body (capped, zeroized when dropped).
    fn send(
        &self,
        token: &SecretString,
        method: Method,
        api_path: &str,
        body: Option<Vec<u8>>,
        what: &str,
        target: &str,
    ) -> Result<(StatusCode, Zeroizing<Vec<u8>>), StoreError> {
        let url = self
            .base
            .join(&format!("v1/{api_path}"))
            .map_err(|e| self.backend(format!("cannot build the URL to {what} {target}: {e}")))?;
        let mut header =
            reqwest::header::HeaderValue::from_str(token.expose_secret()).map_err(|_| {
                self.backend(format!(
                    "the OpenBao token from {} holds characters that cannot be sent: check it",
                    self.source.describe()
                ))
            })?;
        header.set_sensitive(true);
        let mut req = self
            .http
            .request(method, url)
            .header("X-Vault-Token", header);
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let resp = req.send().map_err(|e| self.transport(what, target, e))?;
        let status = resp.status();
        if status.is_redirection() {
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect::<String>())
                .unwrap_or_default();
            // A standby redirects when it cannot forward to the active node, as while a
            // cluster elects a new leader: transient, like a sealed or unreachable server.
            return Err(self.unavailable_err(format!(
                "OpenBao at {} redirected the request to {what} {target} to `{}` (a standby \
                 that cannot reach the active node, e.g. during a leader election); tok does \
                 not follow redirects with your token: cached tokens keep being served, retry \
                 later, and if it persists point BAO_ADDR at the active node or the cluster's \
                 address",
                self.addr,
                to.escape_debug()
            )));
        }
        let bytes = match net::read_capped_blocking(resp, MAX_ANSWER) {
            Ok(bytes) => bytes,
            Err(CappedRead::Transport(e)) => {
                return Err(self.unavailable_err(format!(
                    "the answer of OpenBao at {} to {what} {target} broke off ({e}); retry later",
                    self.addr
                )))
            }
            Err(CappedRead::TooLarge) => {
                return Err(self.backend(format!(
                    "OpenBao at {} answered {what} {target} with more than {} KiB; refused",
                    self.addr,
                    MAX_ANSWER / 1024
                )))
            }
        };
        if status == StatusCode::FORBIDDEN {
            // Expired, revoked or replaced: look it up again (and re-read the file) next time.
            let mut s = self.session();
            s.ttl = Ttl::Unknown;
            s.token_mtime = None;
        }
        Ok((status, bytes))
    }

    /// A KV request with token upkeep first; the outcome is remembered for `tok status`.
    fn kv(
        &self,
        method: Method,
        area: Area,
        path: &str,
        body: Option<Vec<u8>>,
        what: &str,
        target: &str,
    ) -> Result<(StatusCode, Zeroizing<Vec<u8>>), StoreError> {
        let token = self.token()?;
        self.keep_alive(&token);
        let area = match area {
            Area::Data => "data",
            Area::Metadata => "metadata",
        };
        let api = format!("{}/{area}/{}/{path}", self.mount, self.prefix);
        self.send(&token, method, &api, body, what, target)
    }

    fn record<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        let mut s = self.session();
        match &r {
            Ok(_) => {
                s.last_error = None;
                // OpenBao is back: learn the token's TTL again at the next use.
                if matches!(
                    s.ttl,
                    Ttl::LookupFailed {
                        transient: true,
                        ..
                    }
                ) {
                    s.ttl = Ttl::Unknown;
                }
            }
            Err(e) => s.last_error = Some(e.to_string()),
        }
        r
    }

    /// Reads `path` (relative to the prefix) as KV version 2 data of type `T`.
    fn read<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        target: &str,
    ) -> Result<KvEntry<T>, StoreError> {
        let what = "read";
        let (status, body) = self.kv(Method::GET, Area::Data, path, None, what, target)?;
        match status {
            StatusCode::OK => {
                let a: KvReadAnswer<T> =
                    parse(&body).map_err(|e| self.garbled(what, target, &e))?;
                let d = a.data.ok_or_else(|| {
                    self.backend(format!(
                        "OpenBao at {} answered the read of {target} without data: is `{}` a KV \
                         version 2 mount?",
                        self.addr, self.mount
                    ))
                })?;
                Ok(KvEntry {
                    version: d.metadata.map(|m| m.version).unwrap_or(0),
                    data: d.data,
                })
            }
            // Missing, or its latest version deleted (then the metadata still has a version).
            StatusCode::NOT_FOUND => {
                let version = parse::<KvReadAnswer<serde::de::IgnoredAny>>(&body)
                    .ok()
                    .and_then(|a| a.data)
                    .and_then(|d| d.metadata)
                    .map(|m| m.version)
                    .unwrap_or(0);
                Ok(KvEntry {
                    data: None,
                    version,
                })
            }
            _ => Err(self.failure(status, &body, what, target, &[])),
        }
    }

    /// Writes `data` at `path`; with `cas`, only if the entry's version is still that (0: only
    /// if absent). `Ok(false)`: another writer got there first. `redact` lists secret values
    /// that must not appear in an error.
    fn write<T: Serialize>(
        &self,
        path: &str,
        target: &str,
        data: &T,
        cas: Option<u64>,
        redact: &[&str],
    ) -> Result<bool, StoreError> {
        let what = "write";
        let body = serde_json::to_vec(&KvWrite {
            data,
            options: cas.map(|cas| CasOption { cas }),
        })
        .map_err(|e| self.backend(format!("cannot encode the write of {target}: {e}")))?;
        let (status, answer) = self.kv(Method::POST, Area::Data, path, Some(body), what, target)?;
        match status {
            StatusCode::OK | StatusCode::NO_CONTENT => Ok(true),
            StatusCode::BAD_REQUEST
                if cas.is_some() && errors_of(&answer).contains("check-and-set") =>
            {
                Ok(false)
            }
            _ => Err(self.failure(status, &answer, what, target, redact)),
        }
    }

    /// An unconditional write, also where the mount or entry demands check-and-set
    /// (`cas_required`): then it writes on top of the version it just read.
    fn write_plain<T: Serialize>(
        &self,
        path: &str,
        target: &str,
        data: &T,
        redact: &[&str],
    ) -> Result<(), StoreError> {
        let mut cas = None;
        for _ in 0..LEASE_TRIES {
            match self.write(path, target, data, cas, redact) {
                Ok(true) => return Ok(()),
                // Lost a race under `cas_required`: read the new version and write again.
                Ok(false) => {}
                Err(e)
                    if cas.is_none()
                        && e.to_string().contains("check-and-set parameter required") => {}
                Err(e) => return Err(e),
            }
            let now: KvEntry<serde::de::IgnoredAny> = self.read(path, target)?;
            cas = Some(now.version);
        }
        Err(self.backend(format!(
            "cannot write {target}: other writers kept changing it (check-and-set lost {LEASE_TRIES} times); retry"
        )))
    }

    /// A check-and-set write where "expected 0" means "expected absent": an entry whose latest
    /// version was deleted by hand counts as absent too.
    fn write_cas<T: Serialize>(
        &self,
        path: &str,
        target: &str,
        data: &T,
        expected: u64,
        redact: &[&str],
    ) -> Result<bool, StoreError> {
        if self.write(path, target, data, Some(expected), redact)? {
            return Ok(true);
        }
        if expected == 0 {
            let now: KvEntry<serde::de::IgnoredAny> = self.read(path, target)?;
            if now.data.is_none() && now.version > 0 {
                return self.write(path, target, data, Some(now.version), redact);
            }
        }
        Ok(false)
    }

    fn read_lease(&self, name: &str) -> Result<KvEntry<Lease>, StoreError> {
        let path = format!("lease/{name}");
        self.read(&path, &path)
    }

    fn unavailable_err(&self, reason: String) -> StoreError {
        unavailable(reason)
    }

    fn backend(&self, reason: String) -> StoreError {
        StoreError::Backend {
            backend: BACKEND,
            reason,
        }
    }

    fn garbled(&self, what: &str, target: &str, e: &serde_json::Error) -> StoreError {
        // serde's message can quote the offending value: give only where and what kind.
        self.backend(format!(
            "OpenBao at {} answered the {what} {target} with something tok cannot read ({:?} \
             error at line {} column {}): is `{}` a KV version 2 mount, and was the entry \
             written by tok?",
            self.addr,
            e.classify(),
            e.line(),
            e.column(),
            self.mount
        ))
    }

    /// Turns an OpenBao error answer into a message that says what to do.
    fn failure(
        &self,
        status: StatusCode,
        body: &[u8],
        what: &str,
        target: &str,
        redact: &[&str],
    ) -> StoreError {
        let errors = errors_of(body);
        let errors = redacted(&errors, redact);
        let target = if target.is_empty() {
            String::new()
        } else {
            format!(" {target}")
        };
        let addr = &self.addr;
        match status.as_u16() {
            503 if errors.to_ascii_lowercase().contains("sealed") => unavailable(format!(
                "OpenBao at {addr} is sealed: unseal it (`bao operator unseal`); cached tokens \
                 keep being served, and tok carries on once it is unsealed"
            )),
            401 | 403 => self.backend(format!(
                "OpenBao at {addr} refused tok's token (permission denied / expired) to {what}{target}: \
                 get a new one with `bao login -method=…` (it writes ~/.vault-token) or set BAO_TOKEN \
                 (the token now comes from {}); if it is fresh, ask your site for a policy granting \
                 {}/data/{}/* and {}/metadata/{}/*",
                self.source.describe(),
                self.mount,
                self.prefix,
                self.mount,
                self.prefix
            )),
            404 if errors.contains("no handler for route") => self.backend(format!(
                "OpenBao at {addr} has no KV mount `{}` (to {what}{target}): set TOK_BAO_MOUNT to \
                 your site's KV version 2 mount",
                self.mount
            )),
            429 | 500..=599 => unavailable(format!(
                "OpenBao at {addr} answered HTTP {} to {what}{target}{}; nothing is lost, retry later",
                status.as_u16(),
                paren(&errors)
            )),
            _ => self.backend(format!(
                "OpenBao at {addr} answered HTTP {} to {what}{target}{}",
                status.as_u16(),
                paren(&errors)
            )),
        }
    }

    fn transport(&self, what: &str, target: &str, e: reqwest::Error) -> StoreError {
        let e = e.without_url();
        let chain = net::error_chain(&e);
        let failure = net::transport_failure(&e, &chain);
        let addr = &self.addr;
        if failure == TransportFailure::Timeout {
            return unavailable(format!(
                "OpenBao at {addr} did not answer the request to {what} {target} within {} s; \
                 cached tokens keep being served, retry later",
                REQUEST_TIMEOUT.as_secs()
            ));
        }
        let hint = if failure == TransportFailure::Trust {
            ": set BAO_CACERT to the PEM CA bundle that signed its certificate"
        } else {
            ": is it running, and is BAO_ADDR right? cached tokens keep being served"
        };
        unavailable(format!("cannot reach OpenBao at {addr} ({chain}){hint}"))
    }
}

impl SecretStore for OpenBaoStore {
    fn kind(&self) -> StoreKind {
        StoreKind::OpenBao
    }

    fn notes(&self) -> Vec<String> {
        let s = self.session();
        let mut notes = vec![format!(
            "openbao: {} (KV v2 `{}`, path {}), shared by every node using it",
            self.addr, self.mount, self.prefix
        )];
        let source = self.source.describe();
        let now = Instant::now();
        notes.push(match &s.ttl {
            Ttl::Unknown => format!("token (from {source}): not looked up yet"),
            Ttl::LookupFailed { why, .. } => {
                format!("token (from {source}): cannot tell its TTL ({why})")
            }
            Ttl::NoExpiry => format!("token (from {source}): no expiry"),
            Ttl::Expires {
                at,
                full,
                renewable,
                capped,
            } => {
                let left = at.saturating_duration_since(now);
                if left.is_zero() {
                    format!("token (from {source}): expired: run `bao login` or set BAO_TOKEN")
                } else {
                    let renew = if !renewable {
                        "not renewable".to_string()
                    } else if *capped {
                        "at its maximum TTL, no longer renewed".to_string()
                    } else {
                        format!(
                            "renewed on use when less than {} is left",
                            fmt_secs(*full / 2)
                        )
                    };
                    format!(
                        "token (from {source}): {} left, {renew}{}",
                        fmt_secs(left),
                        if s.renewals > 0 {
                            format!(" ({} renewals so far)", s.renewals)
                        } else {
                            String::new()
                        }
                    )
                }
            }
        });
        if let Some(e) = &s.last_error {
            notes.push(format!("last error: {e}"));
        }
        notes
    }

    fn load(&self, key: &str) -> Result<Option<SecretString>, StoreError> {
        Ok(self.load_versioned(key)?.map(|(v, _)| v))
    }

    fn save(&self, key: &str, value: &SecretString) -> Result<(), StoreError> {
        check_store_key(key)?;
        let data = SecretOut {
            value: value.expose_secret(),
        };
        let r = self.write_plain(key, key, &data, &[value.expose_secret()]);
        self.record(r)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_store_key(key)?;
        // Every version goes: a logout must not leave old refresh tokens to undelete.
        let r = self
            .kv(Method::DELETE, Area::Metadata, key, None, "delete", key)
            .and_then(|(status, body)| match status {
                StatusCode::OK | StatusCode::NO_CONTENT | StatusCode::NOT_FOUND => Ok(()),
                _ => Err(self.failure(status, &body, "delete", key, &[])),
            });
        self.record(r)
    }

    fn shared(&self) -> bool {
        true
    }

    fn load_versioned(&self, key: &str) -> Result<Option<(SecretString, u64)>, StoreError> {
        check_store_key(key)?;
        let r = self
            .read::<SecretValue>(key, key)
            .map(|e| e.data.map(|d| (d.value, e.version)));
        self.record(r)
    }

    fn save_cas(
        &self,
        key: &str,
        value: &SecretString,
        expected_version: u64,
    ) -> Result<bool, StoreError> {
        check_store_key(key)?;
        let data = SecretOut {
            value: value.expose_secret(),
        };
        let r = self.write_cas(key, key, &data, expected_version, &[value.expose_secret()]);
        if let Ok(false) = r {
            tracing::info!(
                key,
                expected_version,
                "check-and-set lost: another agent wrote first"
            );
        }
        self.record(r)
    }

    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        check_store_key(name)?;
        if holder.is_empty() {
            return Err(self.backend("a lease needs a holder name".to_string()));
        }
        let path = format!("lease/{name}");
        let r: Result<bool, StoreError> = (|| {
            for _ in 0..LEASE_TRIES {
                let current = self.read_lease(name)?;
                let now = unix_now();
                if let Some(l) = &current.data {
                    if !lease_takeable(l, holder, now) {
                        return Ok(false);
                    }
                }
                let mine = Lease {
                    holder: holder.to_string(),
                    expires_at: now + ttl.as_secs_f64(),
                };
                if self.write_cas(&path, &path, &mine, current.version, &[])? {
                    return Ok(true);
                }
                // Another agent wrote in between: look again.
            }
            Ok(false)
        })();
        self.record(r)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        check_store_key(name)?;
        let path = format!("lease/{name}");
        let r: Result<(), StoreError> = (|| {
            let current = self.read_lease(name)?;
            match &current.data {
                Some(l) if l.holder == holder => {
                    // Written free with check-and-set rather than deleted: if the lease expired
                    // and another agent took it meanwhile, its lease stays.
                    let free = Lease {
                        holder: String::new(),
                        expires_at: 0.0,
                    };
                    self.write_cas(&path, &path, &free, current.version, &[])?;
                    Ok(())
                }
                _ => Ok(()),
            }
        })();
        self.record(r)
    }

    fn save_document(&self, key: &str, json: &str) -> Result<(), StoreError> {
        check_store_key(key)?;
        if serde_json::from_str::<serde::de::IgnoredAny>(json).is_err() {
            return Err(self.backend(format!("the document for {key} is not JSON")));
        }
        let doc = Document {
            json: json.to_string(),
        };
        let r = self.write_plain(key, key, &doc, &[]);
        self.record(r)
    }

    fn load_document(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_store_key(key)?;
        let r = self
            .read::<Document>(key, key)
            .map(|e| e.data.map(|d| d.json));
        self.record(r)
    }
}

/// Free, expired, or already ours: a lease that may be written now.
fn lease_takeable(l: &Lease, holder: &str, now: f64) -> bool {
    l.holder.is_empty() || l.holder == holder || l.expires_at <= now
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(body)
}

/// OpenBao's `errors` list, joined, with control characters escaped and capped in length.
fn errors_of(body: &[u8]) -> String {
    let e: ErrorsAnswer = parse(body).unwrap_or_default();
    let joined = e.errors.join("; ");
    let mut out: String = joined.chars().take(300).collect::<String>();
    if joined.chars().count() > 300 {
        out.push('…');
    }
    out.escape_debug().to_string()
}

/// `text` with every occurrence of a secret replaced (OpenBao does not echo values, but an
/// error message is no place to find out otherwise).
fn redacted(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, "<redacted>");
        out = out.replace(&s.escape_debug().to_string(), "<redacted>");
    }
    out
}

fn paren(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" ({s})")
    }
}

/// The gist of an error for a `tok status` line.
fn short_reason(e: &StoreError) -> String {
    let text = match e {
        StoreError::Unavailable { reason, .. } | StoreError::Backend { reason, .. } => {
            reason.clone()
        }
        other => other.to_string(),
    };
    if text.contains("refused tok's token") {
        "refused: expired, revoked, or not allowed to look itself up".to_string()
    } else if text.contains("is sealed") {
        "OpenBao is sealed".to_string()
    } else {
        text.chars().take(160).collect()
    }
}

fn fmt_secs(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// Reads a token file: a regular file (a FIFO would block), small, one line.
fn read_token_file(path: &Path) -> Result<SecretString, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{} does not exist", path.display()))
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(format!("{} is not a regular file", path.display())),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let mut bytes = Zeroizing::new(Vec::new());
    (&mut file)
        .take(8192)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{} is not text", path.display()))?
        .trim();
    if text.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(SecretString::from(text.to_string()))
}

fn read_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, StoreError> {
    let pem = std::fs::read(path).map_err(|e| {
        unavailable(format!(
            "cannot read the OpenBao CA file {} (BAO_CACERT): {e}",
            path.display()
        ))
    })?;
    let source = format!("the OpenBao CA file {} (BAO_CACERT)", path.display());
    net::ca_roots(&pem, &source).map_err(unavailable)
}

fn unavailable(reason: String) -> StoreError {
    StoreError::Unavailable {
        backend: BACKEND,
        reason,
    }
}

#[cfg(test)]
#[path = "openbao_tests.rs"]
mod tests;
