//! Leases: one agent at a time refreshes an account that several nodes share. A lease is a
//! KV entry `{holder, expires_at}` written with check-and-set, taken when it is free, expired or
//! already ours. The agent names each take uniquely (`agent/lease.rs`), so "ours" is one take,
//! and a release (read, then written free with check-and-set) frees only that take's lease.

use super::*;

/// A lease as stored: who holds it and until when (Unix seconds, fractional). A free lease
/// has an empty holder.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(super) struct Lease {
    pub(super) holder: String,
    pub(super) expires_at: f64,
}

impl OpenBaoStore {
    pub(super) fn read_lease(&self, name: &str) -> Result<KvEntry<Lease>, StoreError> {
        let path = format!("lease/{name}");
        self.read(&path, &path)
    }

    /// Takes the lease `name` for `holder` for `ttl` when it is free, expired or already
    /// theirs; `false` when another holder has it (or kept winning the check-and-set race).
    pub(super) fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        check_store_key(name)?;
        if holder.is_empty() {
            return Err(self.backend("a lease needs a holder name".to_string()));
        }
        let path = format!("lease/{name}");
        let r: Result<bool, StoreError> = (|| {
            for _ in 0..LEASE_TRIES {
                let current = self.read_lease(name)?;
                let now = unix_now();
                if let Some(l) = &current.data {
                    if !lease_takeable(l, holder, now) {
                        return Ok(false);
                    }
                }
                let mine = Lease {
                    holder: holder.to_string(),
                    expires_at: now + ttl.as_secs_f64(),
                };
                if self.write_cas(&path, &path, &mine, current.version, &[])? {
                    return Ok(true);
                }
                // Another agent wrote in between: look again.
            }
            Ok(false)
        })();
        self.record(r)
    }

    /// Frees the lease if `holder` still has it.
    pub(super) fn free_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        check_store_key(name)?;
        let path = format!("lease/{name}");
        let r: Result<(), StoreError> = (|| {
            let current = self.read_lease(name)?;
            match &current.data {
                Some(l) if l.holder == holder => {
                    // Written free with check-and-set rather than deleted: if the lease expired
                    // and another agent took it meanwhile, its lease stays.
                    let free = Lease {
                        holder: String::new(),
                        expires_at: 0.0,
                    };
                    self.write_cas(&path, &path, &free, current.version, &[])?;
                    Ok(())
                }
                _ => Ok(()),
            }
        })();
        self.record(r)
    }
}

/// Free, expired, or already ours: a lease that may be written now.
pub(super) fn lease_takeable(l: &Lease, holder: &str, now: f64) -> bool {
    l.holder.is_empty() || l.holder == holder || l.expires_at <= now
}

pub(super) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
