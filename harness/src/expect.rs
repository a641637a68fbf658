//! Checking a run against the fixture's `[expect]`: every expectation is
//! checked, and each one that does not hold becomes a [`Mismatch`], so that
//! one run shows everything that is wrong at once.

use super::fixture::{Expect, Kept, Outcome};
use super::seed::{lookup, Seeded};
use b2b_host::engine::Report;
use b2b_host::error::{Error, Result};
use b2b_host::storage::{conflicts, files, students};
use rusqlite::Connection;
use serde::Serialize;

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// What was checked, e.g. `conflict c1 status`.
    pub what: String,
    /// What the fixture expects.
    pub expected: String,
    /// What the run left.
    pub actual: String,
}

/// The row counts `[expect.counts]` can check: name, what it counts, and
/// the query. The queries are constants, never built from input.
const COUNTS: &[(&str, &str, &str)] = &[
    ("schools", "schools", "SELECT COUNT(*) FROM schools"),
    ("students", "held students", "SELECT COUNT(*) FROM students"),
    (
        "conflicts",
        "conflicts in any status",
        "SELECT COUNT(*) FROM conflicts",
    ),
    (
        "open_conflicts",
        "open conflicts",
        "SELECT COUNT(*) FROM conflicts WHERE status = 'open'",
    ),
    ("files", "import files", "SELECT COUNT(*) FROM import_files"),
    (
        "completed_files",
        "completed import files",
        "SELECT COUNT(*) FROM import_files WHERE status = 'completed'",
    ),
    (
        "failed_files",
        "failed import files",
        "SELECT COUNT(*) FROM import_files WHERE status = 'failed'",
    ),
    (
        "file_payloads",
        "import files that still have their payload",
        "SELECT COUNT(*) FROM import_files WHERE payload_id IS NOT NULL OR payload IS NOT NULL",
    ),
    (
        "cache_entries",
        "import cache entries",
        "SELECT COUNT(*) FROM import_cache",
    ),
    (
        "unmatched",
        "open unmatched incoming students",
        "SELECT COUNT(*) FROM unmatched WHERE status = 'open'",
    ),
    (
        "source_deletions",
        "students recorded as deleted at the source",
        "SELECT COUNT(*) FROM source_deletions",
    ),
];

/// What the run did, as the checks need it.
pub(super) struct Ran<'a> {
    pub outcome: &'a std::result::Result<Report, String>,
    pub log: &'a str,
    pub denied: &'a [String],
}

/// Every expectation that does not hold. An expectation the fixture cannot
/// mean (an unknown label or count) is an error, not a mismatch.
pub(super) fn check(
    conn: &Connection,
    expect: &Expect,
    seeded: &Seeded,
    ran: &Ran,
) -> Result<Vec<Mismatch>> {
    let mut found = Vec::new();
    check_outcome(expect, ran.outcome, &mut found);
    check_log(expect, ran, &mut found);
    check_conflicts(conn, expect, seeded, &mut found)?;
    check_students(conn, expect, seeded, &mut found)?;
    check_kept(expect, seeded, conn, &mut found)?;
    check_counts(conn, expect, &mut found)?;
    Ok(found)
}

/// Adds a mismatch when `expected` and `actual` differ.
fn compare(found: &mut Vec<Mismatch>, what: String, expected: String, actual: String) {
    if expected != actual {
        found.push(Mismatch {
            what,
            expected,
            actual,
        });
    }
}

fn check_outcome(
    expect: &Expect,
    outcome: &std::result::Result<Report, String>,
    found: &mut Vec<Mismatch>,
) {
    let describe = |o: &std::result::Result<Report, String>| match o {
        Ok(r) => format!("ok: {}", r.summary),
        Err(e) => format!("failed: {e}"),
    };
    match (expect.outcome, outcome) {
        (Outcome::Ok, Err(_)) => compare(found, "outcome".into(), "ok".into(), describe(outcome)),
        (Outcome::Failed, Ok(_)) => {
            compare(found, "outcome".into(), "failed".into(), describe(outcome))
        }
        (Outcome::Failed, Err(e)) => {
            if let Some(text) = expect.error.as_ref().filter(|t| !e.contains(t.as_str())) {
                compare(
                    found,
                    "error".into(),
                    format!("contains {text:?}"),
                    e.clone(),
                );
            }
        }
        (Outcome::Ok, Ok(report)) => check_report(expect, report, found),
    }
}

fn check_report(expect: &Expect, report: &Report, found: &mut Vec<Mismatch>) {
    for (name, expected, actual) in [
        ("examined", expect.examined, report.examined),
        ("changed", expect.changed, report.changed),
        ("skipped", expect.skipped, report.skipped),
    ] {
        if let Some(expected) = expected {
            compare(
                found,
                format!("report {name}"),
                expected.to_string(),
                actual.to_string(),
            );
        }
    }
    if let Some(text) = expect
        .summary
        .as_ref()
        .filter(|t| !report.summary.contains(t.as_str()))
    {
        compare(
            found,
            "report summary".into(),
            format!("contains {text:?}"),
            report.summary.clone(),
        );
    }
}

fn check_log(expect: &Expect, ran: &Ran, found: &mut Vec<Mismatch>) {
    for text in expect.log.iter().filter(|t| !ran.log.contains(t.as_str())) {
        compare(
            found,
            "run log".into(),
            format!("contains {text:?}"),
            "no line contains it (the run log is shown below)".into(),
        );
    }
    let list = |caps: &[String]| {
        if caps.is_empty() {
            "none".to_string()
        } else {
            caps.join(", ")
        }
    };
    let mut expected = expect.denied.clone();
    expected.sort();
    let mut actual = ran.denied.to_vec();
    actual.sort();
    compare(
        found,
        "capabilities denied".into(),
        list(&expected),
        list(&actual),
    );
}

fn check_conflicts(
    conn: &Connection,
    expect: &Expect,
    seeded: &Seeded,
    found: &mut Vec<Mismatch>,
) -> Result<()> {
    for (label, status) in &expect.conflicts {
        let id = lookup(&seeded.conflicts, "conflict", label, "[expect.conflicts]")?;
        let actual = conflicts::get(conn, id)?.status;
        compare(
            found,
            format!("conflict {label} status"),
            status.to_string(),
            actual.to_string(),
        );
    }
    Ok(())
}

fn check_students(
    conn: &Connection,
    expect: &Expect,
    seeded: &Seeded,
    found: &mut Vec<Mismatch>,
) -> Result<()> {
    let shown = |v: Option<&str>| v.map_or("(empty)".to_string(), |v| format!("{v:?}"));
    for (label, items) in &expect.students {
        let id = lookup(&seeded.students, "student", label, "[expect.students]")?;
        let student = students::get(conn, id)?;
        for (item, value) in items {
            b2b_host::items::lookup(item)
                .map_err(|e| Error::invalid(format!("[expect.students.{label}]: {e}")))?;
            compare(
                found,
                format!("student {label} {item}"),
                shown(Some(value.as_str()).filter(|v| !v.is_empty())),
                shown(student.value(item)),
            );
        }
    }
    Ok(())
}

fn check_kept(
    expect: &Expect,
    seeded: &Seeded,
    conn: &Connection,
    found: &mut Vec<Mismatch>,
) -> Result<()> {
    let word = |kept: bool| if kept { "kept" } else { "deleted" }.to_string();
    for (label, state) in &expect.files {
        let id = lookup(&seeded.files, "file", label, "[expect.files]")?;
        let kept = files::get(conn, id)?.0.deleted_at.is_none();
        compare(
            found,
            format!("file {label} payload"),
            word(*state == Kept::Kept),
            word(kept),
        );
    }
    for (label, state) in &expect.cache {
        let id = lookup(&seeded.cache, "cache entry", label, "[expect.cache]")?;
        let kept: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM import_cache WHERE id = ?)",
            [id],
            |r| r.get(0),
        )?;
        compare(
            found,
            format!("cache entry {label}"),
            word(*state == Kept::Kept),
            word(kept),
        );
    }
    Ok(())
}

fn check_counts(conn: &Connection, expect: &Expect, found: &mut Vec<Mismatch>) -> Result<()> {
    for (name, expected) in &expect.counts {
        let (_, what, sql) = COUNTS.iter().find(|(n, ..)| n == name).ok_or_else(|| {
            let names: Vec<&str> = COUNTS.iter().map(|(n, ..)| *n).collect();
            Error::invalid(format!(
                "[expect.counts] has no count `{name}`; the counts are: {}",
                names.join(", ")
            ))
        })?;
        let actual: i64 = conn.query_row(sql, [], |r| r.get(0))?;
        compare(
            found,
            format!("count of {what} ({name})"),
            expected.to_string(),
            actual.to_string(),
        );
    }
    Ok(())
}
