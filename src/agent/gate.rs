//! `tok lock` as one state transition. Every request that hands out a token passes the gate
//! and holds it (shared) until its answer is written; `tok lock` closes the gate (new requests
//! are refused at once), waits for the requests inside to finish — a refresh in flight commits
//! what the provider rotated, so no login is lost, and its token is dropped, not handed out —
//! and only then locks the store, forgets the refresh tokens and empties the cache.

use crate::protocol::ErrorKind;
use crate::refresh::Failure;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{watch, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Default)]
pub struct Gate {
    /// Tells the requests inside that a lock began (a confirmation prompt stops waiting).
    lock_began: watch::Sender<bool>,
    /// `tok lock` is in force for a store without a key of its own: only `tok unlock` lifts it.
    locked: AtomicBool,
    /// A `tok lock` is under way.
    closing: AtomicBool,
    /// Shared by each request inside; `tok lock` takes it whole.
    inside: RwLock<()>,
    /// One lock or unlock at a time.
    transition: Mutex<()>,
}

/// A request's pass through the gate, held until its answer is written.
pub type Pass<'a> = RwLockReadGuard<'a, ()>;

/// The gate closed for a `tok lock`: nobody inside, nobody let in. Dropping it reopens the gate
/// (the store's own lock, or [`Gate::set_locked`], keeps refusing what must be refused).
pub struct Closed<'a> {
    gate: &'a Gate,
    _inside: RwLockWriteGuard<'a, ()>,
    _transition: MutexGuard<'a, ()>,
}

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        self.gate.closing.store(false, Ordering::SeqCst);
        self.gate.lock_began.send_replace(false);
    }
}

impl Gate {
    pub fn locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
    }

    /// Whether tokens may be handed out now.
    pub fn open(&self) -> Result<(), Failure> {
        if self.locked() || self.closing.load(Ordering::SeqCst) {
            return Err(Failure::new(
                ErrorKind::AgentLocked,
                "the agent is locked (`tok lock`): no tokens are served; run `tok unlock` to resume",
            ));
        }
        Ok(())
    }

    /// Lets a request in, unless the agent is locked or a lock is under way.
    pub async fn enter(&self) -> Result<Pass<'_>, Failure> {
        self.open()?;
        let pass = self.inside.read().await;
        // A lock may have been completed while this request waited.
        self.open()?;
        Ok(pass)
    }

    /// Whether a request that got in may still hand out what it got.
    pub fn still_open(&self) -> Result<(), Failure> {
        self.open().map_err(|_| {
            Failure::new(
                ErrorKind::AgentLocked,
                "the agent was locked (`tok lock`) while this request was in flight: its token was dropped (a refresh token the provider rotated was stored first, so the login is kept); run `tok unlock` to resume",
            )
        })
    }

    /// Closes the gate: refuses new requests at once, then waits until those inside are done.
    pub async fn close(&self) -> Closed<'_> {
        let transition = self.transition.lock().await;
        self.closing.store(true, Ordering::SeqCst);
        self.lock_began.send_replace(true);
        let inside = self.inside.write().await;
        Closed {
            gate: self,
            _inside: inside,
            _transition: transition,
        }
    }

    /// Completes when a `tok lock` begins: a request inside that waits for someone (a
    /// confirmation prompt) gives up rather than hold the lock back.
    pub async fn lock_begins(&self) {
        let mut began = self.lock_began.subscribe();
        // The sender lives as long as the gate, so this only ends when a lock begins.
        let _ = began.wait_for(|began| *began).await;
    }

    /// Waits for a lock under way to finish (before an unlock).
    pub async fn transition(&self) -> MutexGuard<'_, ()> {
        self.transition.lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_lock_refuses_newcomers_at_once_and_waits_for_those_inside() {
        let gate = Arc::new(Gate::default());
        let pass = gate.enter().await.expect("an open gate lets in");
        let prompt = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.lock_begins().await })
        };
        let closer = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let closed = gate.close().await;
                gate.set_locked(true);
                drop(closed);
            })
        };
        // The lock has begun: newcomers are refused while the request inside still runs.
        tokio::time::timeout(Duration::from_secs(5), async {
            while gate.open().is_ok() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the gate closes at once");
        assert_eq!(
            gate.enter().await.err().map(|f| f.kind),
            Some(ErrorKind::AgentLocked)
        );
        tokio::time::timeout(Duration::from_secs(5), prompt)
            .await
            .expect("a request waiting for a prompt hears of the lock")
            .unwrap();
        assert!(
            !closer.is_finished(),
            "the lock waits for the request inside"
        );
        assert!(
            gate.still_open().is_err(),
            "the request inside drops its token"
        );
        drop(pass);
        closer.await.unwrap();
        assert!(gate.enter().await.is_err(), "locked until unlocked");
        gate.set_locked(false);
        assert!(gate.enter().await.is_ok());
    }
}
