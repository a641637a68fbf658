//! The writes a plugin run asks for, held until the run ends.
//!
//! A run that wrote as it went would hold SQLite's write lock from its first
//! write to its end: a plugin that sleeps, computes or waits on a slow
//! server would then block every person's command and the scheduler's
//! bookkeeping, and a failed run could only be undone by keeping that lock.
//! Instead each write call is checked against the database at once (so the
//! plugin learns how many rows it changes) and recorded here; the plugin's
//! later reads see its own writes through this overlay; and when the run
//! succeeds everything is applied in one short transaction. A run that
//! fails, traps or is stopped simply drops what it staged.
//!
//! Between the call and the commit a person may resolve the same conflict,
//! an import may bring a newer incoming value, or a file may be deleted: the
//! commit applies each write only where it still holds (a conflict still
//! open with the incoming value the plugin saw, a payload still there), and
//! counts the rest as superseded.

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::storage::conflicts::{self, Conflict};
use crate::storage::files::{self, FileInfo};
use crate::storage::{cache, in_transaction, runs};
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The most writes one run may stage: far beyond any LA's open conflicts,
/// files or cache rows, it bounds what a plugin can make the host hold and
/// how long the commit holds the write lock.
const MAX_STAGED: usize = 1_000_000;
/// The most conflicts one run may accept: each writes a held value and an
/// audit row, so the commit stays short.
const MAX_ACCEPTED: usize = 50_000;

/// The writes a run has staged.
#[derive(Debug, Default)]
pub struct Staged {
    /// Conflicts to clear, with the incoming value the plugin saw.
    cleared: BTreeMap<i64, Option<String>>,
    /// Conflicts to accept, likewise.
    accepted: BTreeMap<i64, Option<String>>,
    /// Held values as the staged acceptances will leave them.
    held: HashMap<(i64, String), Option<String>>,
    payloads: BTreeSet<i64>,
    cache: BTreeSet<i64>,
}

/// What applying a run's staged writes did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Conflicts marked cleared.
    pub cleared: usize,
    /// Conflicts accepted (their incoming value written to the held record).
    pub accepted: usize,
    /// Import file payloads deleted.
    pub payloads_deleted: usize,
    /// Import cache entries deleted.
    pub cache_deleted: usize,
    /// Staged writes that no longer applied at commit (someone resolved the
    /// conflict, or deleted the row, first).
    pub superseded: usize,
}

impl Staged {
    /// Whether the run staged nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> usize {
        self.cleared.len() + self.accepted.len() + self.payloads.len() + self.cache.len()
    }

    fn room_for(&self, n: usize) -> Result<()> {
        if self.len() + n > MAX_STAGED {
            return Err(Error::invalid(format!(
                "a run may change at most {MAX_STAGED} rows; this one asked for more"
            )));
        }
        Ok(())
    }

    fn conflict_staged(&self, id: i64) -> bool {
        self.cleared.contains_key(&id) || self.accepted.contains_key(&id)
    }

    /// Stages clearing the open conflicts among `ids`; returns how many.
    pub fn clear(&mut self, conn: &Connection, ids: &[i64]) -> Result<usize> {
        let open = self.open_among(conn, ids)?;
        self.room_for(open.len())?;
        self.cleared
            .extend(open.iter().map(|c| (c.id, c.incoming_value.clone())));
        Ok(open.len())
    }

    /// Stages accepting the open conflicts among `ids`; returns how many.
    pub fn accept(&mut self, conn: &Connection, ids: &[i64]) -> Result<usize> {
        let open = self.open_among(conn, ids)?;
        self.room_for(open.len())?;
        if self.accepted.len() + open.len() > MAX_ACCEPTED {
            return Err(Error::invalid(format!(
                "a run may accept at most {MAX_ACCEPTED} conflicts; accept the rest in another run"
            )));
        }
        for c in &open {
            self.held
                .insert((c.student_id, c.item.clone()), c.incoming_value.clone());
            self.accepted.insert(c.id, c.incoming_value.clone());
        }
        Ok(open.len())
    }

    /// The open conflicts among `ids` that this run has not already resolved.
    fn open_among(&self, conn: &Connection, ids: &[i64]) -> Result<Vec<Conflict>> {
        let mut open = conflicts::open_among(conn, ids)?;
        open.retain(|c| !self.conflict_staged(c.id));
        Ok(open)
    }

    /// Stages deleting the payloads among `ids` that can be deleted.
    pub fn delete_payloads(&mut self, conn: &Connection, ids: &[i64]) -> Result<usize> {
        let mut ids = files::deletable_among(conn, ids)?;
        ids.retain(|id| !self.payloads.contains(id));
        self.room_for(ids.len())?;
        self.payloads.extend(&ids);
        Ok(ids.len())
    }

    /// Stages deleting the cache entries among `ids` that exist.
    pub fn delete_cache(&mut self, conn: &Connection, ids: &[i64]) -> Result<usize> {
        let mut ids = cache::existing_among(conn, ids)?;
        ids.retain(|id| !self.cache.contains(id));
        self.room_for(ids.len())?;
        self.cache.extend(&ids);
        Ok(ids.len())
    }

    /// A page of open conflicts as the run sees them: without those it has
    /// staged a resolution for.
    pub fn open_page(&self, conn: &Connection, after: i64, limit: u32) -> Result<Vec<Conflict>> {
        filtered_page(
            after,
            limit,
            |after| conflicts::open_page(conn, after, limit),
            |c| (c.id, !self.conflict_staged(c.id)),
        )
    }

    /// A page of cache entries as the run sees them: without those it has
    /// staged for deletion.
    pub fn cache_page(
        &self,
        conn: &Connection,
        after: i64,
        limit: u32,
        school_id: Option<i64>,
    ) -> Result<Vec<cache::Entry>> {
        filtered_page(
            after,
            limit,
            |after| cache::page(conn, after, FETCH, school_id),
            |e| (e.id, !self.cache.contains(&e.id)),
        )
    }

    /// A page of files as the run sees them: a staged deletion shows as
    /// done, at the run's start (the plugin's only clock).
    pub fn files_page(
        &self,
        conn: &Connection,
        after: i64,
        limit: u32,
        started_at: crate::time::Timestamp,
    ) -> Result<Vec<FileInfo>> {
        let mut page = files::page(conn, after, limit)?;
        for f in page.iter_mut().filter(|f| self.payloads.contains(&f.id)) {
            f.payload_bytes = 0;
            f.deleted_at = Some(f.deleted_at.unwrap_or(started_at));
        }
        Ok(page)
    }

    /// The held value of an item as the run sees it: what a staged
    /// acceptance will write, else what is stored.
    pub fn held_value(
        &self,
        conn: &Connection,
        student_id: i64,
        item: &crate::items::Item,
    ) -> Result<Option<String>> {
        match self.held.get(&(student_id, item.key.to_string())) {
            Some(value) => Ok(value.clone()),
            None => crate::storage::students::held_value(conn, student_id, item),
        }
    }

    /// Applies every staged write in one transaction, each only where it
    /// still holds, audited as `actor`.
    pub fn commit(self, conn: &Connection, actor: &Actor, run: i64) -> Result<Applied> {
        if self.is_empty() {
            return Ok(Applied::default());
        }
        let staged = self.len();
        let cleared: Vec<_> = self.cleared.into_iter().collect();
        let accepted: Vec<_> = self.accepted.into_iter().collect();
        let payloads: Vec<i64> = self.payloads.into_iter().collect();
        let entries: Vec<i64> = self.cache.into_iter().collect();
        in_transaction(conn, |tx| {
            // A run another process found stopped (its lease lapsed while it
            // was frozen) is recorded interrupted: it keeps nothing.
            if !runs::is_running(tx, run)? {
                return Err(Error::invalid(
                    "another b2b process found this run stopped and recorded it as interrupted",
                ));
            }
            let mut applied = Applied {
                cleared: conflicts::clear_unchanged(tx, &cleared, actor)?,
                accepted: conflicts::accept_unchanged(tx, &accepted, actor)?,
                payloads_deleted: files::delete_payloads(tx, &payloads, actor)?,
                cache_deleted: cache::delete(tx, &entries, actor)?,
                superseded: 0,
            };
            let done = applied.cleared
                + applied.accepted
                + applied.payloads_deleted
                + applied.cache_deleted;
            applied.superseded = staged.saturating_sub(done);
            Ok(applied)
        })
    }
}

/// Rows fetched at a time to fill one filtered page, whatever the page
/// size the plugin asked for: a plugin that staged many writes and asks for
/// pages of one row must not make the host run a query per staged row.
const FETCH: u32 = 5000;

/// Fills a page of up to `limit` rows after `after` from `fetch` (which
/// returns up to [`FETCH`] rows), skipping rows `keep` rejects, so a plugin
/// paging by the last id it saw never sees a short page before the end.
fn filtered_page<T>(
    mut after: i64,
    limit: u32,
    mut fetch: impl FnMut(i64) -> Result<Vec<T>>,
    keep: impl Fn(&T) -> (i64, bool),
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    loop {
        let page = fetch(after)?;
        let full = page.len() as u32 == FETCH;
        for row in page {
            let (id, kept) = keep(&row);
            if kept {
                out.push(row);
                if out.len() == limit as usize {
                    return Ok(out);
                }
            }
            after = id;
        }
        if !full {
            return Ok(out);
        }
    }
}
