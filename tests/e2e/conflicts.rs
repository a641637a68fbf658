//! Accepting and discarding conflicts through the service layer.

use b2b_host::service::Selection;
use b2b_host::storage::conflicts::{self, Filter, Status};
use b2b_host::storage::{audit, students};
use b2b_tests::TestDb;

/// A student with a surname and a postcode, and an open conflict on each.
fn student_with_conflicts(t: &TestDb, surname: &str) -> (i64, i64, i64) {
    let conn = t.svc.conn();
    let id = students::insert(
        conn,
        None,
        &[
            ("basic.surname", Some(surname)),
            ("address.postcode", Some("AB1 2CD")),
        ],
    )
    .unwrap();
    let c1 = conflicts::raise(
        conn,
        id,
        "basic.surname",
        Some(surname),
        Some("Incoming"),
        None,
    )
    .unwrap();
    let c2 = conflicts::raise(
        conn,
        id,
        "address.postcode",
        Some("AB1 2CD"),
        Some("ZZ9 9ZZ"),
        None,
    )
    .unwrap();
    (id, c1, c2)
}

fn ids(ids: &[i64]) -> Selection {
    Selection {
        filter: Filter {
            ids: ids.to_vec(),
            ..Filter::default()
        },
        all: false,
    }
}

#[test]
fn accepting_writes_the_incoming_value_and_audits_it() {
    let t = TestDb::new();
    let (student, surname, _) = student_with_conflicts(&t, "Held");
    assert_eq!(t.svc.accept_conflicts(&ids(&[surname])).unwrap(), 1);

    assert_eq!(
        t.svc.student(student).unwrap().value("basic.surname"),
        Some("Incoming")
    );
    let c = conflicts::get(t.svc.conn(), surname).unwrap();
    assert_eq!(
        (c.status, c.resolved_by.as_deref()),
        (Status::Accepted, Some("test:officer"))
    );
    let edits = audit::for_entity(t.svc.conn(), "student", Some(&student.to_string()), 10).unwrap();
    assert!(
        edits.iter().any(|e| e.action == "student.edit"
            && e.detail.as_deref().is_some_and(
                |d| d.contains("\"old\":\"Held\"") && d.contains("\"new\":\"Incoming\"")
            )),
        "{edits:?}"
    );
    let trail = t.svc.conflict(surname).unwrap().history;
    assert_eq!(trail[0].action, "conflict.accepted");
}

#[test]
fn discarding_keeps_the_held_value() {
    let t = TestDb::new();
    let (student, surname, _) = student_with_conflicts(&t, "Held");
    assert_eq!(t.svc.discard_conflicts(&ids(&[surname])).unwrap(), 1);
    assert_eq!(
        t.svc.student(student).unwrap().value("basic.surname"),
        Some("Held")
    );
    assert_eq!(
        conflicts::get(t.svc.conn(), surname).unwrap().status,
        Status::Discarded
    );

    let err = t
        .svc
        .accept_conflicts(&ids(&[surname]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("already discarded (by test:officer"), "{err}");
    assert_eq!(
        t.svc.student(student).unwrap().value("basic.surname"),
        Some("Held")
    );
}

#[test]
fn bulk_accept_over_a_filter_touches_only_what_the_filter_names() {
    let t = TestDb::new();
    let (a, ..) = student_with_conflicts(&t, "A");
    let (b, ..) = student_with_conflicts(&t, "B");
    let by_item = Selection {
        filter: Filter {
            item: Some("address.postcode".into()),
            ..Filter::default()
        },
        all: false,
    };
    assert_eq!(t.svc.accept_conflicts(&by_item).unwrap(), 2);
    for s in [a, b] {
        let held = t.svc.student(s).unwrap();
        assert_eq!(held.value("address.postcode"), Some("ZZ9 9ZZ"));
        assert_eq!(
            held.value("basic.surname").map(|v| v.len()),
            Some(1),
            "surnames still held"
        );
    }
    assert_eq!(
        t.count("conflicts", "status = 'open' AND item = 'basic.surname'"),
        2
    );
}

#[test]
fn an_empty_selection_is_refused_unless_all_is_said() {
    let t = TestDb::new();
    student_with_conflicts(&t, "A");
    let err = t
        .svc
        .discard_conflicts(&Selection::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("pass --all"), "{err}");
    assert_eq!(t.count("conflicts", "status = 'open'"), 2);
    let all = Selection {
        all: true,
        ..Selection::default()
    };
    assert_eq!(t.svc.discard_conflicts(&all).unwrap(), 2);
}

#[test]
fn a_bulk_accept_that_fails_part_way_changes_nothing() {
    let t = TestDb::new();
    let conn = t.svc.conn();
    let (first, c1, _) = student_with_conflicts(&t, "First");
    let second =
        students::insert(conn, None, &[("basic.date_of_birth", Some("2014-03-05"))]).unwrap();
    let bad = conflicts::raise(
        conn,
        second,
        "basic.date_of_birth",
        Some("2014-03-05"),
        Some("31/02/2014"),
        None,
    )
    .unwrap();

    let err = t
        .svc
        .accept_conflicts(&ids(&[c1, bad]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("basic.date_of_birth must be a date"), "{err}");
    assert_eq!(
        t.svc.student(first).unwrap().value("basic.surname"),
        Some("First"),
        "rolled back"
    );
    assert_eq!(t.count("conflicts", "status = 'open'"), 3);
}

#[test]
fn accepting_a_uk_written_date_stores_it_as_a_date() {
    let t = TestDb::new();
    let conn = t.svc.conn();
    let s = students::insert(conn, None, &[("basic.date_of_birth", Some("2014-03-05"))]).unwrap();
    let c = conflicts::raise(
        conn,
        s,
        "basic.date_of_birth",
        Some("2014-03-05"),
        Some("06/03/2014"),
        None,
    )
    .unwrap();
    t.svc.accept_conflicts(&ids(&[c])).unwrap();
    assert_eq!(
        t.svc.student(s).unwrap().value("basic.date_of_birth"),
        Some("2014-03-06")
    );
}
