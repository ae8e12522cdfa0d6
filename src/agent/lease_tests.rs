//! The lease's release against a store whose release can be held back: a late release of one
//! take must not free the same agent's next take.

use super::*;
use crate::store::{StoreError, StoreKind};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Mutex;

/// A shared store's lease semantics (free or already the holder's: taken; released only by its
/// holder), with releases that wait for the test's go and report when done.
struct HeldBackStore {
    leases: Mutex<HashMap<String, String>>,
    acquires: Mutex<mpsc::Sender<()>>,
    go: Mutex<mpsc::Receiver<()>>,
    released: Mutex<mpsc::Sender<()>>,
}

impl SecretStore for HeldBackStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    fn load(&self, _: &str) -> Result<Option<SecretString>, StoreError> {
        Ok(None)
    }
    fn save(&self, _: &str, _: &SecretString) -> Result<(), StoreError> {
        Ok(())
    }
    fn delete(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn shared(&self) -> bool {
        true
    }
    fn acquire_lease(&self, name: &str, holder: &str, _: Duration) -> Result<bool, StoreError> {
        let mut leases = self.leases.lock().unwrap();
        let got = match leases.get(name) {
            Some(h) if h != holder => false,
            _ => {
                leases.insert(name.to_string(), holder.to_string());
                true
            }
        };
        let _ = self.acquires.lock().unwrap().send(());
        Ok(got)
    }
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.go.lock().unwrap().recv().expect("the test's go");
        let mut leases = self.leases.lock().unwrap();
        if leases.get(name).map(String::as_str) == Some(holder) {
            leases.remove(name);
        }
        let _ = self.released.lock().unwrap().send(());
        Ok(())
    }
}

fn recv(rx: &mpsc::Receiver<()>, what: &str) {
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} did not happen within 10s"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_release_leaves_the_same_agents_next_lease_alone() {
    let (acquires_tx, acquires) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    let (released_tx, released) = mpsc::channel();
    let fake = Arc::new(HeldBackStore {
        leases: Mutex::new(HashMap::new()),
        acquires: Mutex::new(acquires_tx),
        go: Mutex::new(go_rx),
        released: Mutex::new(released_tx),
    });
    let store: Arc<dyn SecretStore> = fake.clone();

    let first = lease(&store, "node-a:42", "cms").await.expect("first take");
    recv(&acquires, "the first take");
    // The release thread starts and waits in the store for `go`.
    drop(first);

    // The agent's next refresh of the account asks for the lease meanwhile.
    let s = Arc::clone(&store);
    let second = tokio::spawn(async move { lease(&s, "node-a:42", "cms").await });
    recv(&acquires, "the second take's first attempt");

    // Now the first take's release runs, after the second take asked.
    go.send(()).unwrap();
    let second = second.await.unwrap().expect("second take");
    tokio::task::spawn_blocking(move || recv(&released, "the first release"))
        .await
        .unwrap();
    assert!(
        fake.leases.lock().unwrap().contains_key("refresh-cms"),
        "the first take's late release freed the second take's lease"
    );

    // The second take's own release frees it.
    drop(second);
    go.send(()).unwrap();
}
