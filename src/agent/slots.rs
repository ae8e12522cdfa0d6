//! The agent's connection slots: a cap on connections at once (each costs a file descriptor
//! and a task), and when every slot is taken the connection that has waited longest for a
//! request gives its slot to the newcomer — as web servers close idle keep-alive connections —
//! so a crowd of idle or byte-a-second clients cannot lock everyone else out (issue 21).
//!
//! A connection is *waiting* from the moment it is admitted or has sent an answer until a whole
//! request has arrived: an idle one and one that dribbles half a frame count the same, from when
//! the wait began, not from their last byte. A connection being served (a token refresh, a
//! login waiting for its user) is never closed to make room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// The shared table of open connections.
pub struct Slots {
    cap: usize,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    open: HashMap<u64, Entry>,
}

struct Entry {
    /// When this connection began to wait for a request; `None` while it is being served.
    waiting_since: Option<Instant>,
    close: Arc<Notify>,
}

/// What admitting a connection did.
pub enum Admission {
    /// A free slot.
    Free(Slot),
    /// The slot of the connection that had waited longest, told to close.
    Evicted(Slot),
}

/// One connection's hold on a slot; dropping it frees the slot.
pub struct Slot {
    slots: Arc<Slots>,
    id: u64,
    close: Arc<Notify>,
}

impl Slots {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            table: Mutex::new(Table::default()),
        })
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Connections holding a slot now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.lock().open.len()
    }

    /// A slot for a new connection: a free one, else the one of the connection that has
    /// waited longest for a request; `None` when every connection is being served.
    pub fn admit(self: &Arc<Self>) -> Option<Admission> {
        let mut table = self.lock();
        let evicted = if table.open.len() >= self.cap {
            let (&oldest, _) = table
                .open
                .iter()
                .filter_map(|(id, e)| e.waiting_since.map(|t| (id, t)))
                .min_by_key(|&(_, t)| t)?;
            let entry = table.open.remove(&oldest).expect("the entry just found");
            // A permit is stored if its task is not waiting right now: it closes at its next wait.
            entry.close.notify_one();
            true
        } else {
            false
        };
        let id = table.next_id;
        table.next_id += 1;
        let close = Arc::new(Notify::new());
        table.open.insert(
            id,
            Entry {
                waiting_since: Some(Instant::now()),
                close: Arc::clone(&close),
            },
        );
        let slot = Slot {
            slots: Arc::clone(self),
            id,
            close,
        };
        Some(if evicted {
            Admission::Evicted(slot)
        } else {
            Admission::Free(slot)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_waiting(&self, id: u64, waiting: bool) {
        if let Some(e) = self.lock().open.get_mut(&id) {
            e.waiting_since = waiting.then(Instant::now);
        }
    }
}

impl Slot {
    /// The connection waits for a request from now on and may be closed to make room.
    pub fn waiting(&self) {
        self.slots.set_waiting(self.id, true);
    }

    /// A whole request arrived: the connection is not closed to make room until it waits again.
    pub fn serving(&self) {
        self.slots.set_waiting(self.id, false);
    }

    /// Completes when this connection was chosen to make room for a newer one.
    pub async fn closed_for_room(&self) {
        self.close.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().open.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_longest_waiting_connection_makes_room() {
        let slots = Slots::new(2);
        let Some(Admission::Free(a)) = slots.admit() else {
            panic!("a free slot")
        };
        let Some(Admission::Free(b)) = slots.admit() else {
            panic!("a free slot")
        };
        std::thread::sleep(std::time::Duration::from_millis(2));
        b.waiting();
        let Some(Admission::Evicted(c)) = slots.admit() else {
            panic!("room made")
        };
        // `a` waited longest: it is told to close and no longer counts.
        tokio::time::timeout(std::time::Duration::from_secs(1), a.closed_for_room())
            .await
            .expect("a was told to close");
        assert_eq!(slots.open(), 2);
        // Connections being served are never closed to make room.
        b.serving();
        c.serving();
        assert!(slots.admit().is_none());
        drop(b);
        assert_eq!(slots.open(), 1);
        assert!(matches!(slots.admit(), Some(Admission::Free(_))));
        drop(a);
        drop(c);
        assert_eq!(slots.open(), 0);
    }
}
