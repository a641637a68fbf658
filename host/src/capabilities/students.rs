//! `b2b:plugin/students`: held values, read in batches.

use super::{bounded, HostContext};
use crate::items;
use crate::plugins::capability::Capability;
use crate::world::b2b::plugin::students::{Host, ItemRef};
use crate::world::CallError;

impl Host for HostContext {
    fn held_values(&mut self, refs: Vec<ItemRef>) -> Result<Vec<Option<String>>, CallError> {
        bounded("refs", refs.len())?;
        let conn = self.require(Capability::StudentsRead, "students.held-values")?;
        refs.iter()
            .map(|r| {
                Ok(self
                    .staged
                    .held_value(conn, r.student_id, items::lookup(&r.item)?)?)
            })
            .collect()
    }
}
