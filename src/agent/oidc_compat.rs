//! The agent's second front door: oidc-agent's socket protocol (`crate::compat`) over the same
//! token service as tok's own socket — the same bind (0700 directory, 0600 socket), peer-uid
//! check, policy, audit, cache and single-flight refresh — so `oidc-token NAME` and every
//! liboidc-agent client keep working, and `oidc-token -s S --aud A NAME` becomes a cache hit.
//!
//! oidc-agent's protocol has no framing: one client `write` is one message, and clients read
//! what is there. So each connection carries one request, the reply goes out in one write,
//! and the connection closes. Anything malformed closes only its own connection, and nothing
//! a client sent is ever logged.

use super::listener::{self, AgentListener, Conn};
use super::peer::Peer;
use super::slots::{Admission, Slot, Slots};
use super::state::State;
use crate::compat::crypto::{self, Session};
use crate::compat::requests::{self, AccessTokenAsk, CompatRequest, MinValid};
use crate::protocol::{ErrorKind, TokenRequest};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use zeroize::Zeroizing;

/// Largest message accepted (a request is a few hundred bytes).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Connections served at once on this socket; at the cap the longest-waiting one makes room.
const MAX_CONNECTIONS: usize = 256;
/// A client must send each message within this.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The running compatibility socket; dropping it stops serving and removes its files.
pub struct CompatSocket {
    task: tokio::task::JoinHandle<()>,
    socket: PathBuf,
    link: Option<PathBuf>,
}

impl Drop for CompatSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
        if let Some(link) = &self.link {
            // Only our own link: a socket someone else put there since is theirs.
            if std::fs::read_link(link).ok().as_deref() == Some(self.socket.as_path()) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}

/// Starts the compatibility socket unless the configuration turns it off. A failure is logged
/// and leaves tok's own socket serving.
pub fn start(state: &Arc<State>) -> Option<CompatSocket> {
    let enabled = state
        .config()
        .map(|c| c.oidc_agent_socket.unwrap_or(true))
        .unwrap_or(true);
    if !enabled {
        tracing::info!("oidc-agent compatibility socket off (oidc_agent_socket = false)");
        return None;
    }
    let socket = crate::compat::socket_path();
    let bound = match listener::bind(&socket) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("oidc-agent compatibility socket not started: {e}");
            return None;
        }
    };
    let link = link_default_path(&socket);
    tracing::info!(socket = %socket.display(), "oidc-agent compatibility socket listening");
    let task = tokio::spawn(accept_loop(Arc::clone(state), AgentListener::Bound(bound)));
    Some(CompatSocket { task, socket, link })
}

/// Points oidc-agent 5.x's default path at our socket, unless something live of someone else
/// (a running oidc-agent) is there, or the directory is not ours and private.
fn link_default_path(socket: &Path) -> Option<PathBuf> {
    let link = crate::compat::default_client_path();
    let dir = link.parent()?;
    if let Err(e) = crate::dirs::ensure_private_dir(dir) {
        tracing::warn!("not linking oidc-agent's default socket path: {e}");
        return None;
    }
    if let Ok(meta) = std::fs::symlink_metadata(&link) {
        if meta.file_type().is_symlink() && std::fs::read_link(&link).ok()? == socket {
            return Some(link);
        }
        match std::os::unix::net::UnixStream::connect(&link) {
            Ok(_) => {
                tracing::info!(path = %link.display(), "oidc-agent's default socket path is in use (oidc-agent running?); left as it is");
                return None;
            }
            Err(_) => {
                let _ = std::fs::remove_file(&link);
            }
        }
    }
    match std::os::unix::fs::symlink(socket, &link) {
        Ok(()) => Some(link),
        Err(e) => {
            tracing::warn!(path = %link.display(), "cannot link oidc-agent's default socket path: {e}");
            None
        }
    }
}

async fn accept_loop(state: Arc<State>, listener: AgentListener) {
    let slots = Slots::new(MAX_CONNECTIONS);
    loop {
        let conn = match listener::accept(&listener).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("oidc-agent socket: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (Some(Admission::Free(slot)) | Some(Admission::Evicted(slot))) = slots.admit() else {
            continue;
        };
        let state = Arc::clone(&state);
        match conn {
            Conn::Bound(stream, peer) => {
                tokio::spawn(serve(state, stream, peer, slot));
            }
            Conn::Activated(stream, peer) => {
                tokio::spawn(serve(state, stream, peer, slot));
            }
        }
    }
}

async fn serve<S>(state: Arc<State>, mut stream: S, peer: Peer, slot: Slot)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    if let Err(why) = exchange(&state, &mut stream, &peer, &slot).await {
        // The reason only: what the client sent may hold a token or password.
        tracing::debug!("closing an oidc-agent connection: {why}");
    }
    let _ = stream.shutdown().await;
}

async fn exchange<S>(
    state: &Arc<State>,
    stream: &mut S,
    peer: &Peer,
    slot: &Slot,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let first = read_message(stream, slot, first_message_complete).await?;
    if first.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        // A plaintext request (oidc_agent_rs, old clients): a plaintext answer.
        slot.serving();
        let reply = answer(state, &first, peer).await;
        return stream.write_all(&reply).await.map_err(|e| e.to_string());
    }
    let pending = Session::accept(&first).map_err(|e| e.to_string())?;
    stream
        .write_all(Session::agent_key().as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // After our key is on its way: the client derives its side meanwhile.
    let session = pending.finish();
    let sealed = read_message(stream, slot, crypto::is_complete).await?;
    let body = session.open(&sealed).map_err(|e| e.to_string())?;
    slot.serving();
    let reply = answer(state, &body, peer).await;
    let sealed = Zeroizing::new(session.seal(&reply));
    stream
        .write_all(sealed.as_bytes())
        .await
        .map_err(|e| e.to_string())
}

/// A key (`base64(32 bytes)`, which ends in `=`) or a JSON object.
fn first_message_complete(buf: &[u8]) -> bool {
    if buf.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return serde_json::from_slice::<serde::de::IgnoredAny>(buf).is_ok();
    }
    buf.len() >= crypto::KEY_MESSAGE_CHARS || buf.contains(&b'=')
}

/// Reads until `complete` says a whole message is there: one client write may arrive in
/// pieces. Too long, too slow, or closed early ends the connection.
async fn read_message<S>(
    stream: &mut S,
    slot: &Slot,
    complete: fn(&[u8]) -> bool,
) -> Result<Zeroizing<Vec<u8>>, String>
where
    S: AsyncRead + Unpin,
{
    slot.waiting();
    let mut buf = Zeroizing::new(Vec::with_capacity(512));
    let mut chunk = Zeroizing::new([0u8; 4096]);
    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
    loop {
        let read = tokio::select! {
            read = tokio::time::timeout_at(deadline, stream.read(&mut chunk[..])) => read,
            () = slot.closed_for_room() => return Err("closed to make room for a new connection".into()),
        };
        let n = match read {
            Err(_) => {
                return Err(format!(
                    "no whole message within {}s",
                    READ_TIMEOUT.as_secs()
                ))
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(0)) => return Err("the client closed before a whole message".into()),
            Ok(Ok(n)) => n,
        };
        if buf.len() + n > MAX_MESSAGE_BYTES {
            return Err(format!("a message over {MAX_MESSAGE_BYTES} bytes"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if complete(&buf) {
            return Ok(buf);
        }
    }
}

/// The reply to one decrypted request.
async fn answer(state: &Arc<State>, body: &[u8], peer: &Peer) -> Zeroizing<Vec<u8>> {
    let request = match requests::parse(body) {
        Ok(r) => r,
        Err(bad) => return bad.reply(),
    };
    let config = match state.config() {
        Ok(c) => c,
        Err(f) => return requests::failure(&f.message),
    };
    match request {
        CompatRequest::Check => requests::success(),
        CompatRequest::LoadedAccounts => {
            requests::loaded_accounts(&config.accounts.keys().cloned().collect::<Vec<_>>())
        }
        CompatRequest::AccountInfo => requests::account_info(
            config
                .accounts
                .iter()
                .map(|(n, a)| (n.as_str(), a.issuer.as_str())),
        ),
        CompatRequest::Add { account } => match account {
            Some(name) if config.accounts.contains_key(&name) => requests::success(),
            Some(name) => requests::failure(&format!(
                "tok has no account `{name}`; import it with `tok import --from oidc-agent {name}` or run `tok login {name}`"
            )),
            None => requests::failure("Bad Request: no account config"),
        },
        CompatRequest::Unsupported(what) => requests::failure(&format!(
            "tok's agent does not serve `{what}` requests; use tok's own commands (`tok login`, `tok logout`, `tok lock`)"
        )),
        CompatRequest::AccessToken(ask) => access_token(state, &config, ask, peer).await,
    }
}

async fn access_token(
    state: &Arc<State>,
    config: &crate::config::Config,
    ask: AccessTokenAsk,
    peer: &Peer,
) -> Zeroizing<Vec<u8>> {
    // oidc-agent's own texts for an unknown account: scripts match on them.
    let account = match (&ask.account, &ask.issuer) {
        (Some(name), _) if !config.accounts.contains_key(name) => {
            return requests::failure(requests::NO_SUCH_ACCOUNT)
        }
        (Some(name), _) => name.clone(),
        (None, Some(issuer)) => match config.resolve(None, Some(issuer)) {
            Ok(name) => name,
            Err(_) => return requests::failure(requests::NO_ACCOUNT_FOR_ISSUER),
        },
        (None, None) => {
            return requests::failure("Bad request. Required field 'account' not present.")
        }
    };
    let (scopes, audiences) = match (
        crate::scope::normalise_scopes(&ask.scopes),
        crate::scope::normalise_audiences(&ask.audiences),
    ) {
        (Ok(s), Ok(a)) => (s, a),
        (Err(e), _) | (_, Err(e)) => return requests::failure(&e.to_string()),
    };
    let request = TokenRequest {
        account: Some(account),
        issuer: None,
        scopes,
        audiences,
        min_valid_secs: match ask.min_valid {
            MinValid::AtLeast(s) => Some(s),
            MinValid::Any | MinValid::ForceNew => None,
        },
        exact_scope: false,
        force: ask.min_valid == MinValid::ForceNew,
    };
    match super::policy::serve_token(state, request, peer).await {
        Ok(grant) => requests::access_token(grant.token.expose(), &grant.issuer, grant.expires_at),
        Err(f) if f.kind == ErrorKind::AgentLocked => requests::failure(requests::AGENT_LOCKED),
        Err(f) => requests::failure(&f.message),
    }
}
