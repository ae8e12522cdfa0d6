//! The agent: a long-lived per-user process that owns the refresh tokens and serves access
//! tokens over a Unix socket, each connection concurrently.

mod accounts;
pub mod audit;
pub mod cache;
mod delegate;
mod delegations;
mod listener;
mod logging;
mod login;
mod migrate;
mod peer;
mod policy;
mod session;
mod shared;
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
    harden();
    logging::init();
    raise_fd_limit();
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
        tokio::spawn(serve(store_choice))
            .await
            .context("the agent's main task panicked")?
    })
}

async fn serve(store_choice: StoreKind) -> Result<()> {
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
    let state = Arc::new(State::new(
        info,
        config_path,
        config,
        Arc::from(opened.store),
        opened.kind,
        opened.reason,
    ));
    tokio::spawn(policy::sweep_lifetimes(Arc::clone(&state)));
    if state.store.shared() {
        // Before answering anyone: a node that never logged in must know the accounts.
        shared::load_accounts(&state).await;
        tokio::spawn(shared::follow_accounts(Arc::clone(&state)));
    }
    announce_ready(&socket);
    tracing::info!(socket = %socket.display(), pid = std::process::id(), "agent listening");

    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    // At most this many connections at once: one more is closed at once (and the client says
    // so), idle ones end after session::IDLE_TIMEOUT, so a runaway client cannot exhaust the
    // agent's file descriptors or stall its accept loop.
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut last_full_warning: Option<std::time::Instant> = None;
    tracing::info!(
        max_connections = MAX_CONNECTIONS,
        idle_timeout_secs = session::IDLE_TIMEOUT.as_secs(),
        max_request_bytes = crate::wire::MAX_REQUEST_BYTES,
        "connection limits"
    );
    loop {
        tokio::select! {
            accepted = listener::accept(&listener) => {
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    if last_full_warning.is_none_or(|t| t.elapsed().as_secs() >= 10) {
                        tracing::warn!("{MAX_CONNECTIONS} connections are open; closing new ones until some end");
                        last_full_warning = Some(std::time::Instant::now());
                    }
                    drop(accepted);
                    continue;
                };
                match accepted {
                Ok(listener::Conn::Bound(stream, peer)) => {
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        session::serve(state, stream, peer).await;
                        drop(slot);
                    });
                }
                Ok(listener::Conn::Activated(stream, peer)) => {
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        session::serve(state, stream, peer).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }},
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
    state.store_unstored().await;
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

/// Raises the soft limit on open files to the hard limit: a busy agent holds a socket per
/// client plus provider connections, and running out stops it answering anyone.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
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
