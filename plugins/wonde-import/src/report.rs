//! Adding up what each school's import did, for the log and the run record.

use b2b_plugin_sdk::incoming::Outcome;
use b2b_plugin_sdk::Report;
use std::fmt;

/// The host's outcome counts, summed over schools.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    received: u64,
    matched: u64,
    added: u64,
    unmatched: u64,
    too_old: u64,
    conflicts: u64,
    updated: u64,
    unchanged: u64,
    deleted: u64,
}

impl From<&Outcome> for Counts {
    fn from(o: &Outcome) -> Self {
        Self {
            received: o.received.into(),
            matched: o.matched.into(),
            added: o.added.into(),
            unmatched: o.unmatched.into(),
            too_old: o.too_old.into(),
            conflicts: o.conflicts.into(),
            updated: o.updated.into(),
            unchanged: o.unchanged.into(),
            deleted: o.deleted.into(),
        }
    }
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.received += o.received;
        self.matched += o.matched;
        self.added += o.added;
        self.unmatched += o.unmatched;
        self.too_old += o.too_old;
        self.conflicts += o.conflicts;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.deleted += o.deleted;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "received {} students: {} matched ({} updated, {} unchanged), {} added, \
             {} unmatched ({} too old to offer), {} conflicts raised, {} deletions recorded",
            self.received,
            self.matched,
            self.updated,
            self.unchanged,
            self.added,
            self.unmatched,
            self.too_old,
            self.conflicts,
            self.deleted,
        )
    }
}

/// What the whole run did.
#[derive(Debug, Default)]
pub struct Totals {
    /// Schools chosen for import.
    pub chosen: usize,
    /// Schools whose file completed.
    pub imported: usize,
    /// The schools that failed, as "id (name)".
    pub failed: Vec<String>,
    pub counts: Counts,
}

impl Totals {
    /// Counts a school whose file completed.
    pub fn imported(&mut self, outcome: Counts) {
        self.imported += 1;
        self.counts.add(outcome);
    }

    /// The run record: examined = students received; changed = matched
    /// students `updated` + students `added` + `conflicts` raised (each one
    /// a change a person will see); skipped = `unchanged`. A student can both
    /// update and raise a conflict, so the two are capped to add up to at
    /// most what was examined, as every action's counts do.
    pub fn report(&self) -> Report {
        let c = &self.counts;
        let examined = c.received;
        let changed = (c.updated + c.added + c.conflicts).min(examined);
        Report {
            examined,
            changed,
            skipped: c.unchanged.min(examined - changed),
            summary: self.summary(),
        }
    }

    fn summary(&self) -> String {
        if self.chosen == 0 {
            return "There was no active Wonde school to import.".into();
        }
        let failed = if self.failed.is_empty() {
            String::new()
        } else {
            format!("; {} failed: {}", self.failed.len(), self.failed.join(", "))
        };
        format!(
            "Imported {} of {} Wonde schools{failed}; {}.",
            self.imported, self.chosen, self.counts
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(received: u32, updated: u32, added: u32, conflicts: u32, unchanged: u32) -> Counts {
        Counts::from(&Outcome {
            received,
            matched: updated + unchanged,
            added,
            unmatched: received - updated - unchanged - added,
            too_old: 0,
            conflicts,
            updated,
            unchanged,
            deleted: 1,
        })
    }

    #[test]
    fn sums_schools_and_names_failures() {
        let mut totals = Totals {
            chosen: 3,
            ..Totals::default()
        };
        totals.imported(outcome(10, 2, 1, 3, 6));
        totals.imported(outcome(5, 0, 0, 0, 5));
        totals.failed.push("A123 (Example Academy)".into());
        let report = totals.report();
        assert_eq!(
            (report.examined, report.changed, report.skipped),
            (15, 6, 9)
        );
        assert_eq!(
            report.summary,
            "Imported 2 of 3 Wonde schools; 1 failed: A123 (Example Academy); received 15 students: \
             13 matched (2 updated, 11 unchanged), 1 added, 1 unmatched (0 too old to offer), \
             3 conflicts raised, 2 deletions recorded."
        );
    }

    #[test]
    fn counts_never_exceed_what_was_examined() {
        let mut totals = Totals {
            chosen: 1,
            ..Totals::default()
        };
        totals.imported(outcome(4, 4, 0, 4, 0));
        let report = totals.report();
        assert_eq!((report.examined, report.changed, report.skipped), (4, 4, 0));
    }

    #[test]
    fn says_when_there_was_nothing_to_do() {
        let report = Totals::default().report();
        assert_eq!((report.examined, report.changed, report.skipped), (0, 0, 0));
        assert_eq!(
            report.summary,
            "There was no active Wonde school to import."
        );
    }
}
