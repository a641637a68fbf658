//! Working through data conflicts: list, show, accept, discard, one at a
//! time or in bulk over a filter.

use super::Service;
use crate::error::{Error, Result};
use crate::items::{self, Item};
use crate::storage::audit::{self, Entry};
use crate::storage::conflicts::{self, Conflict, Filter, Status};
use crate::storage::{in_transaction, students};

/// Which conflicts a bulk accept or discard covers. An empty selection is
/// refused: resolving every open conflict must be asked for with `all`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The filter (its status is ignored: only open conflicts are resolved).
    pub filter: Filter,
    /// Resolve every open conflict the filter matches even when it has no
    /// criteria at all.
    pub all: bool,
}

/// A conflict with what a person needs to decide it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConflictDetail {
    /// The conflict as recorded: held value at detection, incoming value.
    pub conflict: Conflict,
    /// The item it is about.
    pub item: Item,
    /// The held value now (it may have been edited since).
    pub held_now: Option<String>,
    /// Its audit trail.
    pub history: Vec<Entry>,
}

/// The most conflicts one bulk call resolves; larger sets are done in turns.
const BULK_LIMIT: u32 = 100_000;

impl Service {
    /// Conflicts matching a filter (open ones unless a status is given).
    pub fn conflicts(&self, filter: &Filter, limit: u32) -> Result<Vec<Conflict>> {
        let mut filter = filter.clone();
        filter.status.get_or_insert(Status::Open);
        conflicts::list(&self.conn, &filter, limit)
    }

    /// One conflict in full.
    pub fn conflict(&self, id: i64) -> Result<ConflictDetail> {
        let conflict = conflicts::get(&self.conn, id)?;
        let item = *items::lookup(&conflict.item)?;
        Ok(ConflictDetail {
            held_now: students::held_value(&self.conn, conflict.student_id, &item)?,
            history: audit::for_entity(&self.conn, "conflict", Some(&id.to_string()), 50)?,
            conflict,
            item,
        })
    }

    /// Accepts the selected open conflicts: each incoming value is written
    /// into the held record (audited) and the conflict marked accepted. All
    /// or nothing. Returns how many were accepted.
    pub fn accept_conflicts(&self, selection: &Selection) -> Result<usize> {
        self.resolve(selection, |conn, id| {
            conflicts::accept(conn, id, &self.actor)
        })
    }

    /// Discards the selected open conflicts, keeping the held values.
    /// Returns how many were discarded.
    pub fn discard_conflicts(&self, selection: &Selection) -> Result<usize> {
        self.resolve(selection, |conn, id| {
            conflicts::discard(conn, id, &self.actor)
        })
    }

    fn resolve(
        &self,
        selection: &Selection,
        each: impl Fn(&rusqlite::Connection, i64) -> Result<()>,
    ) -> Result<usize> {
        let f = &selection.filter;
        let has_criteria = !f.ids.is_empty()
            || f.school_id.is_some()
            || f.student_id.is_some()
            || f.item.is_some();
        if !has_criteria && !selection.all {
            return Err(Error::invalid(
                "name conflict ids or a filter (--school, --student, --item); to resolve every open conflict pass --all",
            ));
        }
        if let Some(missing) = f
            .ids
            .iter()
            .find(|id| conflicts::get(&self.conn, **id).is_err())
        {
            return Err(Error::not_found(format!(
                "no conflict {missing}; see `b2b conflicts list`"
            )));
        }
        let mut filter = f.clone();
        filter.status = Some(Status::Open);
        let chosen = conflicts::list(&self.conn, &filter, BULK_LIMIT)?;
        if !f.ids.is_empty() && chosen.len() < f.ids.len() {
            let open: Vec<i64> = chosen.iter().map(|c| c.id).collect();
            let closed = f
                .ids
                .iter()
                .find(|id| !open.contains(id))
                .expect("one id is not open");
            // Says who resolved it and when.
            return each(&self.conn, *closed).map(|_| 0);
        }
        in_transaction(&self.conn, |conn| {
            for c in &chosen {
                each(conn, c.id)?;
            }
            Ok(chosen.len())
        })
    }
}
