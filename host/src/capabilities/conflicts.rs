//! `b2b:plugin/conflicts`: open conflicts, and clearing them.

use super::{bounded, page_size, HostContext};
use crate::items::{self, ItemKind as Kind};
use crate::plugins::capability::Capability;
use crate::world::b2b::plugin::conflicts::{Conflict, Host, ItemKind};
use crate::world::CallError;

impl Host for HostContext {
    fn list_open(&mut self, after: i64, limit: u32) -> Result<Vec<Conflict>, CallError> {
        page_size(limit)?;
        let conn = self.require(Capability::ConflictsRead, "conflicts.list-open")?;
        let page = self.staged.open_page(conn, after, limit)?;
        page.into_iter()
            .map(|c| {
                let kind = items::lookup(&c.item)?.kind;
                Ok(Conflict {
                    id: c.id,
                    student_id: c.student_id,
                    school_id: c.school_id,
                    item: c.item,
                    kind: item_kind(kind),
                    held_at_detection: c.held_value,
                    incoming: c.incoming_value,
                    raised_at: c.raised_at,
                })
            })
            .collect()
    }

    fn clear(&mut self, ids: Vec<i64>) -> Result<u32, CallError> {
        bounded("ids", ids.len())?;
        let (conn, staged) = self.require_write(Capability::ConflictsWrite, "conflicts.clear")?;
        Ok(staged.clear(conn, &ids)? as u32)
    }

    fn accept(&mut self, ids: Vec<i64>) -> Result<u32, CallError> {
        bounded("ids", ids.len())?;
        self.check_grant(Capability::StudentsWrite, "conflicts.accept")?;
        let (conn, staged) = self.require_write(Capability::ConflictsWrite, "conflicts.accept")?;
        Ok(staged.accept(conn, &ids)? as u32)
    }
}

fn item_kind(kind: Kind) -> ItemKind {
    match kind {
        Kind::Name => ItemKind::Name,
        Kind::Text => ItemKind::Text,
        Kind::Code => ItemKind::Code,
        Kind::Postcode => ItemKind::Postcode,
        Kind::Date => ItemKind::Date,
        Kind::Flag => ItemKind::Flag,
    }
}
