//! `tok agent start|stop|status|run`: manage the background agent by hand.

use super::{print_stdout, unexpected};
use crate::cli::AgentCommand;
use crate::client::{self, Connection};
use crate::dirs;
use crate::error::Error;
use crate::protocol::{Request, Response};
use crate::store::StoreKind;
use anyhow::Result;
use clap::ValueEnum;

pub fn run(command: AgentCommand) -> Result<()> {
    let socket = dirs::socket_path();
    match command {
        AgentCommand::Run(args) if args.foreground => {
            crate::agent::run_foreground(args.store.unwrap_or(StoreKind::Auto))
        }
        AgentCommand::Run(args) => start(&socket, args.store),
        AgentCommand::Start(args) => start(&socket, args.store),
        AgentCommand::Stop => {
            if client::stop_agent(&socket)? {
                eprintln!("tok: agent stopped");
            } else {
                eprintln!("tok: no agent is running at {}", socket.display());
            }
            Ok(())
        }
        AgentCommand::Status => {
            let mut conn = Connection::connect(&socket).map_err(|e| Error::Unreachable {
                socket: socket.clone(),
                reason: format!("{e} (no agent running; `tok agent start` starts one)"),
            })?;
            match conn.call(Request::Ping)? {
                Response::Hello(info) => print_stdout(&format!(
                    "agent running: pid {} (tok {}, protocol {}) on {}\n",
                    info.pid, info.version, info.protocol, info.socket
                ))?,
                other => return Err(unexpected(&other).into()),
            }
            Ok(())
        }
    }
}

fn start(socket: &std::path::Path, store: Option<StoreKind>) -> Result<()> {
    if let Ok(mut conn) = Connection::connect(socket) {
        if let Ok(Response::Hello(info)) = conn.call(Request::Ping) {
            eprintln!("tok: agent already running (pid {})", info.pid);
            return Ok(());
        }
    }
    let store_name = store.map(|s| {
        s.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    });
    if let Some(name) = &store_name {
        std::env::set_var("TOK_STORE", name);
    }
    let conn = client::connect_or_spawn(socket)?;
    let mut conn = conn;
    if let Response::Hello(info) = conn.call(Request::Ping)? {
        eprintln!("tok: agent running (pid {}) on {}", info.pid, info.socket);
    }
    Ok(())
}
