//! An account's refresh lease in a store shared by several nodes: taken before a refresh and
//! freed after it, under a holder id unique to each take, so a late release frees only the
//! very lease it was taken as (never the same agent's next one).

use super::state::Failure;
use crate::protocol::ErrorKind;
use crate::store::SecretStore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one agent may hold an account's refresh lease: longer than a provider call may
/// take (so a slow refresh never overlaps another agent's), and no longer, so a crashed holder
/// blocks the others only that long.
pub fn lease_ttl() -> Duration {
    crate::oauth::request_timeout() + Duration::from_secs(5)
}

/// How often a taken lease is asked for again.
const LEASE_POLL: Duration = Duration::from_millis(200);

/// Numbers this process's takes. With the agent's host:pid and a random per-process part it
/// makes each take's holder id unique, so "already ours" in the store means this very take.
static TAKES: AtomicU64 = AtomicU64::new(1);

/// The holder id of one take: `agent` (host:pid), a random per-process part (a later agent
/// with a reused pid is someone else) and the take's number.
fn take_holder(agent: &str) -> String {
    static RUN: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let run = RUN.get_or_init(rand::random::<u32>);
    format!(
        "{agent}:{run:08x}:{}",
        TAKES.fetch_add(1, Ordering::Relaxed)
    )
}

/// An account's refresh lease, released on drop (on a thread of its own, since drop cannot
/// wait). The release may run after the next take of the same account by this agent: the
/// holder id differs per take, so it then finds the lease not its own and leaves it.
pub struct Lease {
    store: Arc<dyn SecretStore>,
    name: String,
    holder: String,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (store, name, holder) = (
            Arc::clone(&self.store),
            std::mem::take(&mut self.name),
            std::mem::take(&mut self.holder),
        );
        // Release off the async thread; a failed release only delays others by the TTL.
        std::thread::spawn(move || {
            if let Err(e) = store.release_lease(&name, &holder) {
                tracing::warn!("cannot release the refresh lease {name}: {e}");
            }
        });
    }
}

/// Takes `account`'s refresh lease for agent `agent` (host:pid), waiting while anyone else
/// holds it, including this agent's previous take whose release has not run yet.
pub async fn lease(
    store: &Arc<dyn SecretStore>,
    agent: &str,
    account: &str,
) -> Result<Lease, Failure> {
    let name = format!("refresh-{account}");
    let holder = take_holder(agent);
    let started = Instant::now();
    loop {
        let s = Arc::clone(store);
        let (n, h) = (name.clone(), holder.clone());
        let got = tokio::task::spawn_blocking(move || s.acquire_lease(&n, &h, lease_ttl()))
            .await
            .map_err(|e| Failure::new(ErrorKind::Internal, format!("lease task failed: {e}")))?
            .map_err(Failure::from)?;
        if got {
            return Ok(Lease {
                store: Arc::clone(store),
                name,
                holder,
            });
        }
        let wait = lease_ttl() + Duration::from_secs(5);
        if started.elapsed() > wait {
            return Err(Failure::new(
                ErrorKind::Provider,
                format!("another agent has been refreshing `{account}` for over {}s (its lease in the shared store); try again", wait.as_secs()),
            ));
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
