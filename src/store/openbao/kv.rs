//! The KV version 2 API as the store uses it: one HTTP exchange with a capped, wiped answer;
//! versioned reads; writes with check-and-set, so agents on several nodes never overwrite
//! each other's rotation; and error wording that never quotes a stored value.

use super::*;

/// How a KV read came out: the data, if any, and the entry's current version (0: none; a
/// deleted latest version reports its number with no data).
pub(super) struct KvEntry<T> {
    pub(super) data: Option<T>,
    pub(super) version: u64,
}

#[derive(Deserialize)]
pub(super) struct KvReadAnswer<T> {
    pub(super) data: Option<KvReadData<T>>,
}

#[derive(Deserialize)]
pub(super) struct KvReadData<T> {
    pub(super) data: Option<T>,
    pub(super) metadata: Option<KvMetadata>,
}

#[derive(Deserialize)]
pub(super) struct KvMetadata {
    #[serde(default)]
    pub(super) version: u64,
}

#[derive(Deserialize)]
pub(super) struct SecretValue {
    pub(super) value: SecretString,
}

#[derive(Serialize)]
pub(super) struct SecretOut<'a> {
    pub(super) value: &'a str,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Document {
    pub(super) json: String,
}

#[derive(Serialize)]
pub(super) struct KvWrite<'a, T: Serialize> {
    pub(super) data: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) options: Option<CasOption>,
}

#[derive(Serialize)]
pub(super) struct CasOption {
    pub(super) cas: u64,
}

/// What a request should do with the KV path: read or write the data, or delete every version.
pub(super) enum Area {
    Data,
    Metadata,
}

impl OpenBaoStore {
    /// One HTTP exchange. `what` and `target` (a store key, never a value) name it in errors.
    /// Returns the status and the body (capped, zeroized when dropped).
    pub(super) fn send(
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
        if let Some(index) = self.index.current() {
            req = req.header(consistency::INDEX_HEADER, index).header(
                consistency::INCONSISTENT_HEADER,
                consistency::FORWARD_ACTIVE_NODE,
            );
        }
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let resp = req.send().map_err(|e| self.transport(what, target, e))?;
        let status = resp.status();
        if status.is_success() {
            self.index.observe(resp.headers());
        }
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
    pub(super) fn kv(
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

    pub(super) fn record<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
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
    pub(super) fn read<T: serde::de::DeserializeOwned>(
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
    pub(super) fn write<T: Serialize>(
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
    pub(super) fn write_plain<T: Serialize>(
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
    pub(super) fn write_cas<T: Serialize>(
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
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(body)
}
