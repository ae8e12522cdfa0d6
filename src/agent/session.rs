//! One client connection: read a frame, answer it, repeat. Transport errors (bad or oversized
//! frames, a peer that vanished, a peer that sends nothing for [`IDLE_TIMEOUT`], a connection
//! chosen to make room at the cap) close this connection only; request errors become
//! `Response::Error` and the connection stays up.

use super::slots::Slot;
use super::state::State;
use super::{accounts, delegate, login};
use crate::protocol::{Envelope, Request, Response, PROTOCOL_VERSION};
use crate::wire::{self, WireError};
use serde::Deserialize;
use std::sync::Arc;

/// A connection that sends no complete request for this long is closed: an idle or stuck
/// client must not hold one of the agent's connection slots.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Just the version, decoded before the rest so a newer or older client gets a clear answer.
#[derive(Deserialize)]
struct Header {
    version: u32,
}

pub async fn serve<S>(state: Arc<State>, stream: S, peer: super::peer::Peer, slot: Slot)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    loop {
        slot.waiting();
        let read = wire::read_frame_bytes_capped(&mut reader, wire::MAX_REQUEST_BYTES);
        let read = tokio::select! {
            read = tokio::time::timeout(IDLE_TIMEOUT, read) => read,
            () = slot.closed_for_room() => {
                tracing::debug!("closing the connection that waited longest, to admit a new one");
                return;
            }
        };
        slot.serving();
        let body = match read {
            Err(_) => {
                tracing::debug!("closing a connection idle for {}s", IDLE_TIMEOUT.as_secs());
                return;
            }
            Ok(Ok(b)) => b,
            Ok(Err(WireError::Closed)) => return,
            Ok(Err(e)) => {
                // Never log the bytes themselves: they may hold a passphrase or token.
                tracing::warn!("closing a connection: {e}");
                return;
            }
        };
        let version = match wire::decode_body::<Header>(&body) {
            Ok(h) => h.version,
            Err(e) => {
                tracing::warn!("closing a connection: {e}");
                return;
            }
        };
        if version != PROTOCOL_VERSION {
            let reply = Response::VersionMismatch {
                agent_version: PROTOCOL_VERSION,
                agent_pid: std::process::id(),
            };
            let _ = wire::write_frame_async(&mut writer, &reply).await;
            continue;
        }
        let envelope: Envelope = match wire::decode_body(&body) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("closing a connection: {e}");
                return;
            }
        };
        drop(body);
        // A request that hands out a token passes the gate and holds it until its answer is
        // written: `tok lock` waits for it, and nothing is handed out after the lock.
        let hands_out = matches!(envelope.request, Request::Token(_) | Request::Delegate(_));
        let mut pass = None;
        let response = match envelope.request {
            Request::Login(req) => {
                // The prompt goes out mid-request; the rest of the stream tells us whether the
                // client is still there.
                let (tx, rx) = tokio::sync::oneshot::channel::<Response>();
                let send = |prompt: Response| async move { tx.send(prompt).is_ok() };
                let relay = async {
                    let Ok(prompt) = rx.await else { return true };
                    wire::write_frame_async(&mut writer, &prompt).await.is_ok()
                };
                let cancelled = async {
                    // Any byte or EOF from the client during a login means it gave up.
                    let _ = wire::read_frame_bytes_async(&mut reader).await;
                };
                let work = login::login(&state, req, send, cancelled);
                let (result, delivered) = tokio::join!(work, relay);
                if !delivered {
                    return;
                }
                result.unwrap_or_else(|f| Response::Error(f.reply()))
            }
            other if hands_out => match state.gate.enter().await {
                Ok(p) => {
                    pass = Some(p);
                    handle(&state, other, &peer).await
                }
                Err(f) => Response::Error(f.reply()),
            },
            other => handle(&state, other, &peer).await,
        };
        let stop = matches!(response, Response::Done) && state.stopping();
        if let Err(e) = wire::write_frame_async(&mut writer, &response).await {
            tracing::debug!("client went away before the answer: {e}");
            return;
        }
        drop(pass);
        if matches!(response, Response::Token(_)) {
            crate::crashpoint::reached("reply_sent");
        }
        if stop {
            state.shutdown.notify_one();
            return;
        }
    }
}

async fn handle(state: &Arc<State>, request: Request, peer: &super::peer::Peer) -> Response {
    let result = match request {
        Request::Ping => Ok(Response::Hello(state.info.clone())),
        Request::Token(req) => match super::policy::serve_token(state, req, peer).await {
            // Only tok's own clients show it: an oidc-agent client must not use up the day's
            // warning.
            Ok(mut grant) => {
                grant.login_warning = super::login_end::warning(state, &grant.account).await;
                Ok(Response::Token(grant))
            }
            Err(f) => Err(f),
        },
        Request::Logout {
            account,
            keep_remote,
            forget,
        } => accounts::logout(state, account, keep_remote, forget).await,
        Request::Delegate(req) => super::policy::delegate(state, req, peer).await,
        Request::ForgetDelegation { id } => delegate::forget(id).await,
        Request::Migrate { to, passphrase } => super::migrate::migrate(state, to, passphrase).await,
        Request::Status => accounts::status(state).await,
        Request::Unlock { passphrase } => accounts::unlock(state, passphrase).await,
        Request::Lock => accounts::lock(state).await,
        Request::Stop => {
            tracing::info!("stop requested by a client");
            state.request_stop();
            Ok(Response::Done)
        }
        Request::Import(req) => super::import::import(state, req).await,
        Request::Login(_) => unreachable!("logins are handled by serve"),
    };
    result.unwrap_or_else(|f| Response::Error(f.reply()))
}
