//! `b2b:plugin/cache`: listing and deleting import cache entries.

use super::{bounded, page_size, HostContext};
use crate::plugins::capability::Capability;
use crate::storage::schools;
use crate::world::b2b::plugin::cache::{Entry, Host};
use crate::world::CallError;

impl Host for HostContext {
    fn list(
        &mut self,
        after: i64,
        limit: u32,
        school: Option<String>,
    ) -> Result<Vec<Entry>, CallError> {
        page_size(limit)?;
        let conn = self.require(Capability::CacheRead, "cache.list")?;
        let school_id = school
            .map(|s| schools::resolve(conn, &s))
            .transpose()?
            .map(|s| s.id);
        Ok(self
            .staged
            .cache_page(conn, after, limit, school_id)?
            .into_iter()
            .map(|e| Entry {
                id: e.id,
                school_id: e.school_id,
                external_id: e.external_id,
                data_group: e.data_group,
                imported_at: e.imported_at,
            })
            .collect())
    }

    fn delete(&mut self, ids: Vec<i64>) -> Result<u32, CallError> {
        bounded("ids", ids.len())?;
        let (conn, staged) = self.require_write(Capability::CacheDelete, "cache.delete")?;
        Ok(staged.delete_cache(conn, &ids)? as u32)
    }
}
