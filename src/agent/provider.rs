//! The agent's provider connections: one HTTP client per CA file (the file read without
//! blocking the agent) and provider metadata, kept for [`METADATA_TTL`].

use super::state::{provider_failure, Failure, State};
use crate::oauth::{self, Metadata, Outcome};
use crate::protocol::ErrorKind;

/// How long reading a CA file may take.
const CA_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long provider metadata is trusted before it is fetched again.
pub const METADATA_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Reads a file that must be a regular file: opened without blocking, so a FIFO is refused
/// at once instead of holding a thread until someone writes to it.
fn read_regular_file(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

impl State {
    /// The HTTP client for a provider (one per CA file). The CA file is read on a blocking
    /// thread, with a deadline and no lock held: a file that blocks (a FIFO, a hung network
    /// mount) must fail this request, not stall the agent.
    pub async fn http(&self, ca_file: Option<&str>) -> Result<reqwest::Client, Failure> {
        let key = ca_file.map(str::to_string);
        if let Some(c) = self.http.lock().expect("http lock").get(&key) {
            return Ok(c.clone());
        }
        let client = match ca_file {
            None => oauth::http_client(None).map_err(provider_failure)?,
            Some(path) => {
                let owned = path.to_string();
                let read = tokio::task::spawn_blocking(move || read_regular_file(&owned));
                let pem = match tokio::time::timeout(CA_READ_TIMEOUT, read).await {
                    Err(_) => {
                        return Err(Failure::new(
                            ErrorKind::Usage,
                            format!("reading the CA file {path} took longer than {}s (a FIFO or a hung file system?); point --ca-file at a regular file", CA_READ_TIMEOUT.as_secs()),
                        ))
                    }
                    Ok(Err(e)) => return Err(Failure::new(ErrorKind::Internal, format!("CA read task failed: {e}"))),
                    Ok(Ok(Err(e))) => {
                        return Err(Failure::new(
                            ErrorKind::Usage,
                            format!("cannot read the CA file {path}: {e}"),
                        ))
                    }
                    Ok(Ok(Ok(pem))) => pem,
                };
                oauth::http_client_trusting(Some((&pem, path))).map_err(provider_failure)?
            }
        };
        self.http
            .lock()
            .expect("http lock")
            .insert(key, client.clone());
        Ok(client)
    }

    /// Provider metadata, discovered per issuer and kept for [`METADATA_TTL`] (`fresh`: now).
    /// When discovery fails and an older copy exists, the older copy is used: an unreachable
    /// provider must not turn into "no metadata".
    pub async fn metadata(
        &self,
        http: &reqwest::Client,
        issuer: &str,
        fresh: bool,
    ) -> Result<Metadata, Failure> {
        let known = self
            .metadata
            .lock()
            .expect("metadata lock")
            .get(issuer)
            .cloned();
        if let Some((md, at)) = &known {
            if !fresh && at.elapsed() < METADATA_TTL {
                return Ok(md.clone());
            }
        }
        match oauth::discover(http, issuer).await {
            Ok(md) => {
                let mut known = self.metadata.lock().expect("metadata lock");
                known.insert(issuer.to_string(), (md.clone(), std::time::Instant::now()));
                if let Some(path) = &self.kept_metadata {
                    // Off the request's path: the file helps the next agent, not this answer.
                    let (path, snapshot) = (path.clone(), known.clone());
                    tokio::task::spawn_blocking(move || {
                        super::kept_metadata::save(&path, &snapshot)
                    });
                }
                Ok(md)
            }
            Err(e) if e.outcome() == Outcome::TryLater && known.is_some() => {
                tracing::warn!(issuer, "re-discovery failed, using the metadata known: {e}");
                Ok(known.map(|(md, _)| md).expect("checked"))
            }
            Err(e) => Err(provider_failure(e)),
        }
    }
}
