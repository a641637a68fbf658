//! This process's lease on the database (see [`crate::storage::leases`]):
//! taken when it first runs a task (or, for `b2b serve`, when it takes the
//! database), renewed by a thread of its own at a third of its length, and
//! given up when dropped. A renewal that finds the lease gone means another
//! process found it lapsed and recorded this one's runs as interrupted: the
//! lease is then lost, and the owner's `on_lost` is called.

use crate::error::Result;
use crate::storage::leases::{self, Owner, Role};
use crate::storage::{in_transaction, orphans, Db};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Told when another process found the lease lapsed and took over its runs
/// (a scheduler wakes up to stop its own).
pub type OnLost = Arc<dyn Fn() + Send + Sync>;

/// A lease's owner that needs no telling: a run that finds its lease lost
/// learns it from its run record.
pub fn ignore_loss() -> OnLost {
    Arc::new(|| {})
}

/// The lease of a process that only runs tasks now (`b2b task run`): long
/// enough that a busy machine renews it in time, short enough that a run it
/// leaves behind by crashing blocks its task for under a minute.
pub const RUN_LEASE: Duration = Duration::from_secs(30);

/// A lease this process holds.
pub struct Lease {
    db: Db,
    owner: Owner,
    lost: Arc<AtomicBool>,
    /// Set to end the renewing thread.
    ending: Arc<(Mutex<bool>, Condvar)>,
    renewer: Option<JoinHandle<()>>,
}

/// What taking the database for `b2b serve` gave.
pub struct Taken {
    /// The lease `b2b serve` now holds the database by.
    pub lease: Lease,
    /// Runs left by owners whose lease had lapsed, now recorded interrupted.
    pub interrupted: usize,
}

impl Lease {
    /// Takes a lease to run tasks now.
    pub fn register(db: &Db, length: Duration, on_lost: OnLost) -> Result<Lease> {
        let owner = new_owner(Role::Run, length);
        leases::insert(&db.connect()?, &owner)?;
        Ok(Lease::renewed(db, owner, length, on_lost))
    }

    /// Takes the database for `b2b serve`, unless another `serve` holds a
    /// live lease on it, which is returned instead. Taking it records the
    /// runs of every lapsed owner as interrupted, in the same transaction.
    pub fn take(
        db: &Db,
        length: Duration,
        on_lost: OnLost,
    ) -> Result<std::result::Result<Taken, Owner>> {
        let owner = new_owner(Role::Serve, length);
        let taken = in_transaction(&db.connect()?, |tx| {
            if let Some(holder) = leases::holder(tx, owner.renewed_at_ms)? {
                return Ok(Err(holder));
            }
            let interrupted = orphans::recover(tx, owner.renewed_at_ms)?.task_runs;
            leases::insert(tx, &owner)?;
            Ok(Ok(interrupted))
        })?;
        Ok(taken.map(|interrupted| Taken {
            lease: Lease::renewed(db, owner, length, on_lost),
            interrupted,
        }))
    }

    /// Starts renewing `owner`'s lease.
    fn renewed(db: &Db, owner: Owner, length: Duration, on_lost: OnLost) -> Lease {
        let lost = Arc::new(AtomicBool::new(false));
        let ending = Arc::new((Mutex::new(false), Condvar::new()));
        let renewing = Renewing {
            db: db.clone(),
            id: owner.id.clone(),
            length,
            lost: Arc::clone(&lost),
            ending: Arc::clone(&ending),
            on_lost,
        };
        let renewer = std::thread::Builder::new()
            .name("b2b-lease".into())
            .spawn(move || renewing.run())
            .ok();
        Lease {
            db: db.clone(),
            owner,
            lost,
            ending,
            renewer,
        }
    }

    /// The owner id its runs are recorded with.
    pub fn id(&self) -> &str {
        &self.owner.id
    }

    /// The lease as taken.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Whether another process found it lapsed and took over its runs.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        *self.ending.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.ending.1.notify_all();
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
        // Giving it up lets a standby take over at once. A lease that cannot
        // be given up lapses on its own.
        if let Ok(conn) = self.db.connect() {
            let _ = leases::release(&conn, &self.owner.id);
        }
    }
}

/// The renewing thread's side of a lease.
struct Renewing {
    db: Db,
    id: String,
    length: Duration,
    lost: Arc<AtomicBool>,
    ending: Arc<(Mutex<bool>, Condvar)>,
    on_lost: OnLost,
}

impl Renewing {
    fn run(self) {
        let beat = self.length / 3;
        let Ok(conn) = self.db.connect() else {
            // Without a connection the lease lapses, which is what it should.
            return;
        };
        // A renewal that waited longer than a beat for a busy database would
        // be late anyway; the next one tries again.
        let _ = conn.busy_timeout(beat);
        loop {
            let ending = self.ending.0.lock().unwrap_or_else(|e| e.into_inner());
            let (ending, _) = self
                .ending
                .1
                .wait_timeout_while(ending, beat, |ending| !*ending)
                .unwrap_or_else(|e| e.into_inner());
            if *ending {
                return;
            }
            drop(ending);
            let length = self.length.as_millis() as i64;
            if let Ok(false) = leases::renew(&conn, &self.id, leases::now_ms(), length) {
                self.lost.store(true, Ordering::SeqCst);
                (self.on_lost)();
                return;
            }
        }
    }
}

/// A new owner for this process, its lease running from now.
fn new_owner(role: Role, length: Duration) -> Owner {
    let now = leases::now_ms();
    let host = leases::host_name();
    let pid = std::process::id();
    Owner {
        id: format!("{host}:{pid}:{:08x}", fastrand::u32(..)),
        role,
        host,
        pid,
        started_at: now.div_euclid(1000),
        renewed_at_ms: now,
        expires_at_ms: now + length.as_millis() as i64,
    }
}
