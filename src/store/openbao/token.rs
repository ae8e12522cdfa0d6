//! Keeping the OpenBao token alive: its TTL is looked up once, and the token is renewed with
//! `renew-self` on use once less than half of its TTL is left, so a long-running agent does not
//! lose its store to an expired token. The token itself is never kept from an answer.

use super::*;

/// What is known about the OpenBao token's lifetime, for renewal and `tok status`.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Ttl {
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
pub(super) enum Upkeep {
    Nothing,
    Lookup,
    Renew,
}

/// Renew when less than half of the granted TTL is left, while the token is renewable and
/// renewing still helps; look the token up when nothing is known, or when it should have
/// expired (someone may have renewed it, or it is gone: the lookup tells).
pub(super) fn upkeep(ttl: &Ttl, now: Instant) -> Upkeep {
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
pub(super) struct Session {
    pub(super) token: Option<SecretString>,
    /// The token file's modification time when it was read (file tokens only).
    pub(super) token_mtime: Option<SystemTime>,
    pub(super) ttl: Ttl,
    pub(super) last_error: Option<String>,
    pub(super) renewals: u64,
}

/// The fields of `auth/token/lookup-self` tok reads. The answer also holds the token itself
/// (`id`), which is deliberately not a field here.
#[derive(Deserialize)]
pub(super) struct LookupAnswer {
    pub(super) data: LookupData,
}

#[derive(Deserialize)]
pub(super) struct LookupData {
    #[serde(default)]
    pub(super) ttl: u64,
    #[serde(default)]
    pub(super) creation_ttl: u64,
    #[serde(default)]
    pub(super) renewable: bool,
}

/// The fields of `auth/token/renew-self` tok reads (`auth.client_token` is left out).
#[derive(Deserialize)]
pub(super) struct RenewAnswer {
    pub(super) auth: RenewAuth,
}

#[derive(Deserialize)]
pub(super) struct RenewAuth {
    #[serde(default)]
    pub(super) lease_duration: u64,
    #[serde(default)]
    pub(super) renewable: bool,
}

impl OpenBaoStore {
    /// The token to send: the environment's, or the token file's (re-read when it changed).
    pub(super) fn token(&self) -> Result<SecretString, StoreError> {
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

    pub(super) fn no_token(&self, why: &str) -> StoreError {
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
    pub(super) fn keep_alive(&self, token: &SecretString) {
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

    pub(super) fn lookup(&self, token: &SecretString) -> Result<Ttl, StoreError> {
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

    pub(super) fn renew(&self, token: &SecretString) -> Result<(), StoreError> {
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
}

pub(super) fn fmt_secs(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}
