//! The held values conflicts are about, fetched a page at a time.

use crate::bindings::b2b::plugin::conflicts::Conflict;
use crate::bindings::b2b::plugin::students::{self, ItemRef};
use crate::Error;

/// The current held value of each conflict's data item, in the same order,
/// in one host call (needs `students:read`). Pass at most a page of
/// conflicts: the host takes up to 5000 references a call.
///
/// The value when the conflict was raised is on the conflict itself
/// (`held_at_detection`); this is what the record holds now, after any edit.
pub fn held_values<'a>(
    conflicts: impl IntoIterator<Item = &'a Conflict>,
) -> Result<Vec<Option<String>>, Error> {
    let refs: Vec<ItemRef> = conflicts
        .into_iter()
        .map(|c| ItemRef {
            student_id: c.student_id,
            item: c.item.clone(),
        })
        .collect();
    let held = students::held_values(&refs)?;
    // Zipping a short answer would silently leave conflicts unexamined.
    if held.len() != refs.len() {
        return Err(Error::Failed(format!(
            "the host returned {} held values for {} items",
            held.len(),
            refs.len()
        )));
    }
    Ok(held)
}
