//! Applying one batched change per page.

use crate::{log, pages, Error, Keyed, Report};

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

/// What a [`sweep`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Rows looked at.
    pub examined: u64,
    /// Rows changed (or, in a dry run, that would be).
    pub changed: u64,
}

impl Swept {
    /// The run's report: what was examined and not changed counts as skipped.
    pub fn report(&self, summary: String) -> Report {
        Report {
            examined: self.examined,
            changed: self.changed,
            skipped: self.examined - self.changed,
            summary,
        }
    }
}

/// Walks every page `fetch` returns, applies `change` once per page to the
/// ids of the rows `due` selects, and logs a line for each page that changed
/// anything, naming the rows as `what` (e.g. "cache entries"). The shape of
/// every retention action: Delete Files, Clear Cache.
///
/// Changing a page before fetching the next is safe: pages follow the last
/// id seen, not an offset.
pub fn sweep<T: Keyed>(
    fetch: impl FnMut(i64, u32) -> Result<Vec<T>, Error>,
    due: impl Fn(&T) -> bool,
    dry_run: bool,
    mut change: impl FnMut(&[i64]) -> Result<u32, Error>,
    what: &str,
) -> Result<Swept, Error> {
    let mut swept = Swept::default();
    for page in pages(fetch) {
        let page = page?;
        let ids: Vec<i64> = page.iter().filter(|row| due(row)).map(Keyed::id).collect();
        let changed = apply_batch(&ids, dry_run, &mut change)?;
        if changed > 0 {
            log::info(&format!(
                "{what} {} to {}: {} {changed} of {}.",
                page[0].id(),
                page[page.len() - 1].id(),
                if dry_run { "would change" } else { "changed" },
                page.len(),
            ));
        }
        swept.examined += page.len() as u64;
        swept.changed += changed;
    }
    Ok(swept)
}
