//! The three maintenance actions, run as the real built-in components
//! against a real SQLite file.

use b2b_host::actor::Actor;
use b2b_host::storage::{cache, conflicts, files, schools, students};
use b2b_host::time::{days, now};
use b2b_tests::TestDb;

fn school(t: &TestDb, wonde_id: &str, urn: i64) -> i64 {
    let s = schools::NewSchool {
        wonde_id,
        name: wonde_id,
        urn: Some(urn),
        ..Default::default()
    };
    schools::upsert(t.svc.conn(), &s).unwrap().id
}

/// Raises a conflict on a new student, then sets the held value to
/// `held_now` as an officer editing the record would.
fn conflict(
    t: &TestDb,
    school_id: i64,
    item: &str,
    held_now: Option<&str>,
    incoming: Option<&str>,
) -> i64 {
    let conn = t.svc.conn();
    let student = students::insert(
        conn,
        Some(school_id),
        &[("basic.surname", Some("Original"))],
    )
    .unwrap();
    let id = conflicts::raise(conn, student, item, Some("at detection"), incoming, None).unwrap();
    students::set_item(conn, student, item, held_now, &Actor::named("test:officer")).unwrap();
    id
}

fn status(t: &TestDb, id: i64) -> String {
    t.conn()
        .query_row("SELECT status FROM conflicts WHERE id = ?", [id], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn clear_conflicts_clears_only_conflicts_whose_held_value_now_matches() {
    let t = TestDb::new();
    let s = school(&t, "A1", 100_001);
    // (item, held now, incoming, should clear)
    let cases = [
        (
            "basic.surname",
            Some("o'brien   smith"),
            Some("O'Brien Smith"),
            true,
        ),
        ("basic.forename", Some("Jon"), Some("John"), false),
        ("address.postcode", Some("ab12cd"), Some("AB1 2CD"), true),
        ("address.postcode", Some("AB1 2CE"), Some("AB1 2CD"), false),
        (
            "basic.date_of_birth",
            Some("2014-03-05"),
            Some("05/03/2014"),
            true,
        ),
        (
            "basic.date_of_birth",
            Some("2014-05-03"),
            Some("05/03/2014"),
            false,
        ),
        (
            "address.street",
            Some("Mill  Lane"),
            Some("Mill Lane"),
            true,
        ),
        (
            "address.street",
            Some("mill lane"),
            Some("Mill Lane"),
            false,
        ),
        (
            "extended.free_school_meals",
            Some("true"),
            Some("Yes"),
            true,
        ),
        (
            "identifiers.upn",
            Some("a123456789012"),
            Some("A123456789012"),
            true,
        ),
        ("address.apartment", None, None, true),
        ("address.apartment", None, Some("Flat 2"), false),
    ];
    let ids: Vec<i64> = cases
        .iter()
        .map(|(item, held, inc, _)| conflict(&t, s, item, *held, *inc))
        .collect();
    let held_before: Vec<String> = held_values(&t);

    let dry = t
        .run("clear-conflicts", &[("dry_run", "true")])
        .outcome
        .unwrap();
    assert_eq!(dry.changed, 7, "{}", dry.summary);
    assert_eq!(
        t.count("conflicts", "status = 'open'"),
        cases.len() as i64,
        "a dry run changes nothing"
    );

    let result = t.run("clear-conflicts", &[]);
    let report = result.outcome.unwrap();
    assert_eq!(
        (report.examined, report.changed, report.skipped),
        (12, 7, 5),
        "{}",
        report.summary
    );
    for (id, (item, held, inc, clears)) in ids.iter().zip(&cases) {
        let expected = if *clears { "cleared" } else { "open" };
        assert_eq!(
            status(&t, *id),
            expected,
            "{item}: held {held:?} vs incoming {inc:?}"
        );
    }
    let by: String = t
        .conn()
        .query_row(
            "SELECT resolved_by FROM conflicts WHERE id = ?",
            [ids[0]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        by,
        format!("plugin:clear-conflicts#{}", result.run_id),
        "cleared as the run"
    );
    assert_eq!(held_values(&t), held_before, "held records are not touched");
}

fn held_values(t: &TestDb) -> Vec<String> {
    let conn = t.conn();
    let mut stmt = conn.prepare("SELECT quote(surname) || quote(postcode) || quote(date_of_birth) || quote(street) FROM students ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn file(t: &TestDb, school_id: i64, age_days: i64, status: files::Status) -> i64 {
    files::insert(
        t.svc.conn(),
        Some(school_id),
        now() - days(age_days),
        status,
        3,
        b"{\"data\":[]}",
    )
    .unwrap()
}

/// Makes `files` the open files of an import run of this (live) process,
/// holding its lease until the returned value is dropped.
fn importing(t: &TestDb, files: &[i64]) -> b2b_host::lease::Lease {
    let lease = b2b_host::lease::Lease::register(
        t.svc.db(),
        b2b_host::lease::RUN_LEASE,
        b2b_host::lease::ignore_loss(),
    )
    .unwrap();
    let run = b2b_host::storage::runs::start(
        t.svc.conn(),
        &b2b_host::storage::runs::Starting {
            plugin_id: "wonde-import",
            version: "0.1.0",
            params: "[]",
            actor: "test",
            task_run: None,
            owner: lease.id(),
        },
    )
    .unwrap();
    for file in files {
        t.conn()
            .execute(
                "UPDATE import_files SET run_id = ? WHERE id = ?",
                [run, *file],
            )
            .unwrap();
    }
    lease
}

fn has_payload(t: &TestDb, id: i64) -> bool {
    t.conn()
        .query_row(
            &format!(
                "SELECT {} FROM import_files WHERE id = ?",
                files::HAS_PAYLOAD
            ),
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn delete_files_removes_old_payloads_only_and_keeps_tombstones() {
    use files::Status::*;
    let t = TestDb::new();
    let s = school(&t, "A1", 100_001);
    let recent = file(&t, s, 10, Completed);
    let old_done = file(&t, s, 100, Completed);
    let old_failed = file(&t, s, 100, Failed);
    let old_queued = file(&t, s, 400, Queued);
    let old_processing = file(&t, s, 400, Processing);
    // Queued and processing files belong to an import still running here.
    let _live = importing(&t, &[old_queued, old_processing]);

    let report = t.run("delete-files", &[]).outcome.unwrap();
    assert_eq!(
        (report.examined, report.changed, report.skipped),
        (5, 2, 3),
        "{}",
        report.summary
    );
    assert!(!has_payload(&t, old_done) && !has_payload(&t, old_failed));
    assert!(
        has_payload(&t, recent) && has_payload(&t, old_queued) && has_payload(&t, old_processing)
    );
    assert_eq!(
        files::payload(&t.conn(), recent).unwrap().as_deref(),
        Some(&b"{\"data\":[]}"[..]),
        "the payload the deleted files shared is still there for the others"
    );
    assert_eq!(
        t.count("payloads", "1"),
        1,
        "five identical files, one payload"
    );
    assert_eq!(
        t.count("import_files", "1"),
        5,
        "every row stays as a tombstone"
    );
    assert_eq!(
        t.count(
            "import_files",
            "deleted_at IS NOT NULL AND payload_bytes = 0"
        ),
        2
    );

    t.svc.set_default("files.retention_days", "5").unwrap();
    let report = t.run("delete-files", &[]).outcome.unwrap();
    assert_eq!(report.changed, 1, "{}", report.summary);
    assert!(!has_payload(&t, recent));
    assert!(
        has_payload(&t, old_queued) && has_payload(&t, old_processing),
        "queued and processing are never touched"
    );
    assert_eq!(t.count("payloads", "1"), 1);
}

fn cache_entry(t: &TestDb, school_id: i64, student: &str, age_days: i64) {
    cache::put(
        t.svc.conn(),
        school_id,
        student,
        "basic",
        "hash",
        now() - days(age_days),
    )
    .unwrap();
}

#[test]
fn clear_cache_by_age_then_one_school_then_all() {
    let t = TestDb::new();
    let a = school(&t, "A1", 100_001);
    let b = school(&t, "B2", 100_002);
    for (school_id, prefix) in [(a, "a"), (b, "b")] {
        cache_entry(&t, school_id, &format!("{prefix}-new"), 10);
        cache_entry(&t, school_id, &format!("{prefix}-old"), 40);
    }

    let report = t.run("clear-cache", &[]).outcome.unwrap();
    assert_eq!(
        (report.examined, report.changed),
        (4, 2),
        "{}",
        report.summary
    );
    assert_eq!(t.count("import_cache", "external_id LIKE '%-old'"), 0);

    let report = t
        .run("clear-cache", &[("all", "true"), ("school", "A1")])
        .outcome
        .unwrap();
    assert_eq!(report.changed, 1, "{}", report.summary);
    assert_eq!(t.count("import_cache", &format!("school_id = {a}")), 0);
    assert_eq!(
        t.count("import_cache", &format!("school_id = {b}")),
        1,
        "the other school keeps its entry"
    );

    let report = t.run("clear-cache", &[("all", "true")]).outcome.unwrap();
    assert_eq!(report.changed, 1);
    assert_eq!(t.count("import_cache", "1"), 0);
}

#[test]
fn clear_cache_for_an_unknown_school_fails_and_deletes_nothing() {
    let t = TestDb::new();
    let a = school(&t, "A1", 100_001);
    cache_entry(&t, a, "x", 400);
    let result = t.run("clear-cache", &[("school", "NOPE"), ("all", "true")]);
    let err = result.outcome.unwrap_err();
    assert!(err.contains("no school `NOPE`"), "{err}");
    assert_eq!(t.count("import_cache", "1"), 1);
}

#[test]
fn a_bad_parameter_is_refused_before_the_run_starts() {
    let t = TestDb::new();
    let err = t
        .svc
        .run_action("clear-cache", &[("everything".into(), "true".into())])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`everything` is not a parameter of clear-cache") && err.contains("all ("),
        "{err}"
    );
    let err = t
        .run("clear-cache", &[("all", "maybe")])
        .outcome
        .unwrap_err();
    assert!(
        err.contains("`all` must be true or false, got `maybe`"),
        "{err}"
    );
    assert_eq!(
        t.count("action_runs", "status = 'failed'"),
        1,
        "the failed run is in the history"
    );
}
