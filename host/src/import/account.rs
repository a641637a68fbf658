//! What an import run's files came to, in words for its run record: how
//! many pupils each matching rule placed, which schools failed and why, and
//! for a failed run, exactly what of it was kept.

use super::{Ended, EndedFile, Outcome};

impl Ended {
    /// Whether some school's file failed while the run went on: the run is
    /// then `partial`, never plain success.
    pub fn any_failed(&self) -> bool {
        !self.failed.is_empty()
    }

    /// A few sentences on the run's files for its summary (none when it
    /// ended no file): pupils per matching rule, and each failed school
    /// with its reason.
    pub fn account(&self) -> Option<String> {
        if self.applied.is_empty() && self.failed.is_empty() {
            return None;
        }
        let mut sentences = Vec::new();
        if !self.applied.is_empty() {
            sentences.push(matching(&self.applied));
        }
        if !self.failed.is_empty() {
            let total = self.applied.len() + self.failed.len();
            let reasons = self.failed.iter().map(|f| {
                let reason = f.reason.as_deref().unwrap_or("no reason was given");
                format!("{} (file {}): {reason}", f.school, f.id)
            });
            sentences.push(format!(
                "{} of {total} schools failed, and nothing of theirs was applied: {}.",
                self.failed.len(),
                listed(reasons, "; ")
            ));
        }
        Some(sentences.join(" "))
    }

    /// What a failed run leaves behind, in words: the import files it
    /// applied (each whole), the failed files recorded, the schools they named.
    pub fn kept(&self) -> String {
        let files = |ended: &[EndedFile]| {
            listed(
                ended.iter().map(|f| format!("{} ({})", f.id, f.school)),
                ", ",
            )
        };
        let mut kept = Vec::new();
        if !self.applied.is_empty() {
            kept.push(format!(
                "the import files it applied before that, each whole: {}",
                files(&self.applied)
            ));
        }
        if !self.failed.is_empty() {
            kept.push(format!(
                "the records of the import files that failed: {}",
                files(&self.failed)
            ));
        }
        if !self.schools_added.is_empty() {
            kept.push(format!(
                "the new schools they name: {}",
                listed(self.schools_added.iter().cloned(), ", ")
            ));
        }
        if kept.is_empty() {
            "Nothing it did was kept.".to_string()
        } else {
            format!("Kept: {}. Nothing else it did was kept.", kept.join("; "))
        }
    }
}

/// "Matched 790 pupils: 700 by ..., ...; 3 near matches are queued ...".
fn matching(applied: &[EndedFile]) -> String {
    let mut total = Outcome::default();
    for outcome in applied.iter().filter_map(|f| f.outcome.as_ref()) {
        total.matched += outcome.matched;
        total.matched_by_link += outcome.matched_by_link;
        total.matched_by_upn += outcome.matched_by_upn;
        total.matched_by_all_four += outcome.matched_by_all_four;
        total.near_matches += outcome.near_matches;
        total.unmatched += outcome.unmatched;
        total.added += outcome.added;
    }
    format!(
        "Matched {} pupils: {} by the school's id or the person GUID, {} by UPN and three of \
         date of birth, surname, forename and gender, {} by all four of those. {} queued for a \
         person ({} of them near matches, with the candidates named); {} added as new.",
        total.matched,
        total.matched_by_link,
        total.matched_by_upn,
        total.matched_by_all_four,
        total.unmatched,
        total.near_matches,
        total.added
    )
}

/// Up to ten items joined by `separator`, then how many more.
fn listed(items: impl ExactSizeIterator<Item = String>, separator: &str) -> String {
    let total = items.len();
    let mut shown: Vec<String> = items.take(10).collect();
    if total > shown.len() {
        shown.push(format!("and {} more", total - shown.len()));
    }
    shown.join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: i64, outcome: Option<Outcome>, reason: Option<&str>) -> EndedFile {
        EndedFile {
            id,
            school: format!("School {id}"),
            outcome,
            reason: reason.map(String::from),
        }
    }

    #[test]
    fn names_every_failed_school_with_its_reason() {
        let ended = Ended {
            applied: vec![file(
                1,
                Some(Outcome {
                    matched: 3,
                    matched_by_link: 1,
                    matched_by_upn: 2,
                    unmatched: 1,
                    near_matches: 1,
                    ..Outcome::default()
                }),
                None,
            )],
            failed: vec![file(2, None, Some("Wonde answered 503"))],
            schools_added: vec![],
        };
        assert!(ended.any_failed());
        let account = ended.account().unwrap();
        assert!(
            account.starts_with("Matched 3 pupils: 1 by the school's id"),
            "{account}"
        );
        assert!(
            account.contains("1 queued for a person (1 of them near matches"),
            "{account}"
        );
        assert!(
            account.ends_with("1 of 2 schools failed, and nothing of theirs was applied: School 2 (file 2): Wonde answered 503."),
            "{account}"
        );
    }

    #[test]
    fn a_run_without_files_has_no_account() {
        assert_eq!(Ended::default().account(), None);
        assert_eq!(Ended::default().kept(), "Nothing it did was kept.");
    }
}
