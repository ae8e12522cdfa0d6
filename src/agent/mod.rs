//! The agent: a long-lived per-user process that owns the refresh tokens and serves access
//! tokens over a Unix socket, each connection concurrently.

mod accounts;
pub mod audit;
pub mod cache;
pub(crate) mod callback;
mod delegate;
mod delegations;
mod gate;
mod holder;
mod import;
mod kept_metadata;
mod lease;
mod listener;
mod logging;
mod login;
mod login_end;
mod migrate;
mod nodes;
mod oidc_compat;
mod peer;
mod policy;
mod provider;
mod session;
mod slot;
mod slots;
mod state;
mod tokens;

use crate::config::Config;
use crate::protocol::{AgentInfo, PROTOCOL_VERSION};
use crate::store::{self, StoreKind};
use crate::{client::READY_PREFIX, dirs};
use anyhow::{Context, Result};
use state::State;
use std::io::Write;
use std::sync::Arc;

/// Runs the agent in this process until SIGTERM/SIGINT/SIGHUP or `tok agent stop`.
pub fn run_foreground(store_choice: StoreKind) -> Result<()> {
    // First, while this is the only thread: no token of the caller's shell stays with us.
    crate::environ::clean_agent_environment();
    harden();
    logging::init();
    let fd_limit = raise_fd_limit();
    #[cfg(target_os = "linux")]
    if matches!(store_choice, StoreKind::Auto | StoreKind::Keyutils) {
        // Session keyrings are per thread: join before the runtime's threads exist.
        if let Err(e) = store::keyutils::join_session_keyring() {
            eprintln!("tok agent: cannot join a session keyring: {e}");
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Serve from a worker, not from this thread: a connection accepted on a worker is answered
    // on that same worker, with no hand-off that must wake another thread (on an idle VM each
    // such wake-up costs more than the whole answer).
    runtime.block_on(async {
        tokio::spawn(serve(store_choice, fd_limit))
            .await
            .context("the agent's main task panicked")?
    })
}

async fn serve(store_choice: StoreKind, fd_limit: u64) -> Result<()> {
    let mut socket = dirs::socket_path();
    let config_path = dirs::config_file();
    let config = Config::load(&config_path)?;
    let store_file = dirs::store_file();
    if store_choice == StoreKind::File {
        if let Some(dir) = store_file.parent() {
            dirs::ensure_private_dir(dir)?;
        }
    }
    let opened = tokio::task::spawn_blocking(move || store::open(store_choice, &store_file))
        .await?
        .context("cannot open the secret store")?;
    tracing::info!(backend = %opened.kind, reason = %opened.reason, "secret store ready");
    let listener = match listener::from_systemd() {
        Some(l) => {
            tracing::info!("using the socket passed by systemd");
            if let Some(path) = l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| p.to_path_buf()))
            {
                socket = path;
            }
            listener::AgentListener::Activated(l)
        }
        None => listener::AgentListener::Bound(listener::bind(&socket)?),
    };
    let info = AgentInfo {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        protocol: PROTOCOL_VERSION,
        socket: socket.display().to_string(),
    };
    // Discovered provider metadata is kept beside the socket across restarts.
    let kept = socket.with_file_name(kept_metadata::FILE_NAME);
    let state = Arc::new(
        State::new(
            info,
            config_path,
            config,
            Arc::from(opened.store),
            opened.kind,
            opened.reason,
        )
        .keeping_metadata(
            kept.clone(),
            kept_metadata::load(&kept, provider::METADATA_TTL),
        ),
    );
    tokio::spawn(policy::sweep_lifetimes(Arc::clone(&state)));
    if state.store.shared() {
        // Before answering anyone: a node that never logged in must know the accounts.
        nodes::load_accounts(&state).await;
        tokio::spawn(nodes::follow_accounts(Arc::clone(&state)));
    }
    // oidc-agent's clients (oidc-token, liboidc-agent) on a second socket.
    let compat = oidc_compat::start(&state);
    announce_ready(&socket);
    tracing::info!(socket = %socket.display(), pid = std::process::id(), "agent listening");

    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    // At most this many connections at once; at the cap the one that has waited longest for a
    // request is closed to admit the new one (slots.rs), idle ones end after
    // session::IDLE_TIMEOUT, so a crowd of idle or slow clients can neither lock others out nor
    // exhaust the agent's file descriptors.
    let slots = slots::Slots::new(connection_cap(fd_limit));
    let mut last_full_warning: Option<std::time::Instant> = None;
    tracing::info!(
        max_connections = slots.cap(),
        idle_timeout_secs = session::IDLE_TIMEOUT.as_secs(),
        max_request_bytes = crate::wire::MAX_REQUEST_BYTES,
        "connection limits"
    );
    loop {
        tokio::select! {
            accepted = listener::accept(&listener) => {
                let conn = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let admission = slots.admit();
                if !matches!(admission, Some(slots::Admission::Free(_)))
                    && last_full_warning.is_none_or(|t| t.elapsed().as_secs() >= 10)
                {
                    let what = if admission.is_some() {
                        "closing the one that waited longest for a request to admit each new one"
                    } else {
                        "all are being served; closing new ones until some end"
                    };
                    tracing::warn!("{} connections are open: {what}", slots.cap());
                    last_full_warning = Some(std::time::Instant::now());
                }
                let (Some(slots::Admission::Free(slot)) | Some(slots::Admission::Evicted(slot))) =
                    admission
                else {
                    drop(conn);
                    continue;
                };
                let state = Arc::clone(&state);
                match conn {
                    listener::Conn::Bound(stream, peer) => {
                        tokio::spawn(session::serve(state, stream, peer, slot));
                    }
                    listener::Conn::Activated(stream, peer) => {
                        tokio::spawn(session::serve(state, stream, peer, slot));
                    }
                }
            },
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = hup.recv() => { tracing::info!("SIGHUP: shutting down"); break; }
            () = state.shutdown.notified() => { tracing::info!("stopping"); break; }
        }
    }
    if let listener::AgentListener::Bound(l) = listener {
        drop(l);
        let _ = std::fs::remove_file(&socket);
    }
    drop(compat);
    holder::store_unstored(&state).await;
    state.cache.clear();
    tracing::info!("agent stopped");
    Ok(())
}

/// Tells the starting client we listen, then lets go of stdout so nothing else lands there.
fn announce_ready(socket: &std::path::Path) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{READY_PREFIX} pid={} socket={}",
        std::process::id(),
        socket.display()
    );
    let _ = out.flush();
}

/// Connections served at once (each costs a file descriptor and a task).
const MAX_CONNECTIONS: usize = 1024;
/// File descriptors kept free of client connections: the store, provider connections, the
/// log, and the connections closed to make room that are still on their way out.
const FD_RESERVE: u64 = 128;

/// The connection cap: [`MAX_CONNECTIONS`], or fewer when the open-file limit is low, so that
/// the cap is reached (and room made) before accept(2) fails for want of descriptors.
fn connection_cap(fd_limit: u64) -> usize {
    let by_fds = fd_limit.saturating_sub(FD_RESERVE).max(16);
    MAX_CONNECTIONS.min(usize::try_from(by_fds).unwrap_or(usize::MAX))
}

/// Raises the soft limit on open files to the hard limit: a busy agent holds a socket per
/// client plus provider connections, and running out stops it answering anyone. Returns the
/// soft limit in force.
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        let before = limit.rlim_cur;
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                limit.rlim_cur = before;
            }
        }
        tracing::info!(
            soft = limit.rlim_cur,
            hard = limit.rlim_max,
            was = before,
            "open-file limit"
        );
    }
    limit.rlim_cur
}

/// Keeps secrets out of core dumps and away from same-uid debuggers.
fn harden() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads one valid rlimit struct.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
    }
}
