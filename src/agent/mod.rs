//! The agent: a long-lived per-user process that owns the refresh tokens and serves access
//! tokens over a Unix socket, each connection concurrently.

mod accounts;
pub mod cache;
mod delegate;
mod delegations;
mod listener;
mod login;
mod session;
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
    init_logging();
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
    announce_ready(&socket);
    tracing::info!(socket = %socket.display(), pid = std::process::id(), "agent listening");

    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            accepted = listener::accept(&listener) => match accepted {
                Ok(listener::Conn::Bound(stream)) => {
                    tokio::spawn(session::serve(Arc::clone(&state), stream));
                }
                Ok(listener::Conn::Activated(stream)) => {
                    tokio::spawn(session::serve(Arc::clone(&state), stream));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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

/// `TOK_LOG` sets tok's own level; dependencies stay at `info` or quieter so that no HTTP
/// library ever logs a request body, whatever level the user picks.
fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let level = match std::env::var("TOK_LOG").as_deref() {
        Ok("trace") => LevelFilter::TRACE,
        Ok("debug") => LevelFilter::DEBUG,
        Ok("warn") => LevelFilter::WARN,
        Ok("error") => LevelFilter::ERROR,
        Ok("off") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    };
    let filter = Targets::new()
        .with_default(level.min(LevelFilter::INFO))
        .with_target("tok", level);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .init();
}
