//! Applying one batched change per page.

use crate::{log, Error};

/// Applies `change` (e.g. `conflicts::clear`) to `ids` and returns how many
/// rows the host changed; in a dry run only counts `ids`, as the rows that
/// would change.
///
/// Makes no host call for an empty batch. Logs a warning when the host changed
/// fewer rows than asked (the rest no longer qualified by the time it looked),
/// so the counts of a run always add up to at most the rows it examined.
pub fn apply_batch(
    ids: &[i64],
    dry_run: bool,
    change: impl FnOnce(&[i64]) -> Result<u32, Error>,
) -> Result<u64, Error> {
    if dry_run || ids.is_empty() {
        return Ok(ids.len() as u64);
    }
    let changed = change(ids)?;
    // More than asked would make the run's counts nonsense.
    if changed as usize > ids.len() {
        return Err(Error::Failed(format!(
            "the host reported {changed} rows changed when asked to change {}",
            ids.len()
        )));
    }
    if (changed as usize) < ids.len() {
        log::warn(&format!(
            "the host changed {changed} of the {} rows asked for; the rest no longer qualified",
            ids.len()
        ));
    }
    Ok(u64::from(changed))
}
