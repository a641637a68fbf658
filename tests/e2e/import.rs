//! The Wonde import end to end: the real wonde-import component talking
//! HTTP to the sandbox server on 127.0.0.1, into a real SQLite file.

use b2b_host::plugins::capability::Capability;
use b2b_host::storage::{rules::Rule, schools, students};
use b2b_tests::lab::{lab, set, TOKEN};
use b2b_wonde_sandbox::{Fault, FaultRule};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn a_first_import_matches_by_each_rule_queues_the_rest_and_raises_exactly_the_differences() {
    let lab = lab(2, 10);
    let t = &lab.t;
    let by_id = lab.hold(0, 0, |_| {});
    let s0 = lab.sandbox.student(0, 0).unwrap();
    let link = students::Link {
        source: "wonde",
        external_id: &s0.id,
        student_id: by_id,
        upn: None,
        school_id: None,
        vouched: false,
    };
    students::link_external(t.svc.conn(), &link).unwrap();
    let upn_plus_three = lab.hold(0, 1, |i| set(i, "basic.surname", Some("Formerly")));
    let all_four = lab.hold(0, 2, |i| set(i, "identifiers.upn", None));
    let moved = lab.hold(0, 3, |i| set(i, "address.postcode", Some("ZZ1 1ZZ")));
    let held_before = t.count("students", "1");

    let result = lab.import();
    let report = result
        .outcome
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{}", result.log));
    assert_eq!(report.examined, 20, "{}", report.summary);

    assert_eq!(lab.open_conflicts(by_id), vec![]);
    let s1 = lab.sandbox.student(0, 1).unwrap();
    assert_eq!(
        lab.open_conflicts(upn_plus_three),
        vec![("basic.surname".into(), Some(s1.surname))]
    );
    let s2 = lab.sandbox.student(0, 2).unwrap();
    assert_eq!(
        lab.open_conflicts(all_four),
        vec![("identifiers.upn".into(), Some(s2.upn))]
    );
    let s3 = lab.sandbox.student(0, 3).unwrap();
    assert_eq!(
        lab.open_conflicts(moved),
        vec![("address.postcode".into(), Some(s3.postcode))]
    );
    assert_eq!(t.count("conflicts", "1"), 3, "nothing else differs");

    assert_eq!(
        t.count("students", "1"),
        held_before,
        "no student is added without the school's rule"
    );
    assert_eq!(t.count("unmatched", "status = 'open'"), 16);
    assert_eq!(
        t.count("external_ids", "source = 'wonde'"),
        4,
        "each match links the Wonde id"
    );
    assert_eq!(t.count("import_files", "status = 'completed'"), 2);
    assert_eq!(
        t.count("contacts", &format!("student_id = {by_id}")) as usize,
        s0.contacts.len()
    );
}

#[test]
fn re_imports_raise_nothing_new_and_a_newer_value_updates_its_open_conflict() {
    let lab = lab(1, 5);
    let t = &lab.t;
    let student = lab.hold(0, 1, |i| set(i, "basic.surname", Some("Formerly")));
    lab.import().outcome.unwrap();
    assert_eq!(t.count("conflicts", "1"), 1);

    let again = lab.t.svc.import(&[], true).unwrap().outcome.unwrap();
    assert!(again.summary.contains("unchanged"), "{}", again.summary);
    assert_eq!(
        t.count("conflicts", "1"),
        1,
        "an identical import raises nothing"
    );

    assert!(t.run("clear-cache", &[("all", "true")]).outcome.is_ok());
    lab.t.svc.import(&[], true).unwrap().outcome.unwrap();
    assert_eq!(
        t.count("conflicts", "1"),
        1,
        "re-evaluated after Clear Cache, still no duplicate"
    );

    lab.sandbox.edit(0, 1, |s| s.surname = "Newer".into());
    lab.import().outcome.unwrap();
    assert_eq!(
        lab.open_conflicts(student),
        vec![("basic.surname".into(), Some("Newer".into()))]
    );
    assert_eq!(
        t.count("conflicts", "1"),
        1,
        "the open conflict was updated, not duplicated"
    );
}

#[test]
fn a_delta_import_fetches_only_what_changed_and_records_deletions() {
    let lab = lab(1, 8);
    let t = &lab.t;
    let held = lab.hold(0, 4, |_| {});
    lab.import().outcome.unwrap();
    lab.sandbox.edit(0, 2, |s| s.forename = "Changed".into());
    lab.sandbox.delete(0, 4);
    let report = lab.import().outcome.unwrap();
    assert_eq!(report.examined, 1, "{}", report.summary);
    let students_requests: Vec<_> = lab
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/students"))
        .collect();
    assert!(
        students_requests
            .last()
            .unwrap()
            .query
            .contains("updated_after="),
        "{students_requests:?}"
    );
    let deleted: Option<i64> = t
        .conn()
        .query_row("SELECT student_id FROM source_deletions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        deleted,
        Some(held),
        "the deletion is recorded against the held student"
    );
    assert_eq!(
        t.count("students", &format!("id = {held}")),
        1,
        "and the held record is kept"
    );
}

#[test]
fn processing_rules_apply_per_item_and_group_with_a_school_override() {
    let lab = lab(2, 3);
    let t = &lab.t;
    let a = lab.hold(0, 0, |i| {
        set(i, "address.postcode", Some("ZZ1 1ZZ"));
        set(i, "basic.middle_names", None);
        set(i, "basic.forename", Some("Held"));
    });
    let b = lab.hold(1, 0, |i| set(i, "address.postcode", Some("ZZ2 2ZZ")));
    let school_b = lab.sandbox.school_ids()[1].clone();
    // The LA sets a school's rules once it knows the school.
    let known = schools::NewSchool {
        wonde_id: &school_b,
        name: "B",
        ..Default::default()
    };
    schools::upsert(t.svc.conn(), &known).unwrap();
    t.svc
        .set_rule(None, "address", Some(Rule::AlwaysImport))
        .unwrap();
    t.svc
        .set_rule(Some(&school_b), "address.postcode", Some(Rule::DontImport))
        .unwrap();
    t.svc
        .set_rule(None, "basic", Some(Rule::ImportIfNull))
        .unwrap();
    lab.import().outcome.unwrap();

    let sa = lab.sandbox.student(0, 0).unwrap();
    let held_a = t.svc.student(a).unwrap();
    assert_eq!(
        held_a.value("address.postcode"),
        Some(sa.postcode.as_str()),
        "always import wrote it"
    );
    assert_eq!(
        held_a.value("basic.middle_names"),
        sa.middle_names.as_deref(),
        "import if null filled it"
    );
    assert_eq!(
        lab.open_conflicts(a),
        vec![("basic.forename".into(), Some(sa.forename))],
        "not null: conflict"
    );
    assert_eq!(
        t.svc.student(b).unwrap().value("address.postcode"),
        Some("ZZ2 2ZZ"),
        "the school's dont_import wins"
    );
    assert_eq!(lab.open_conflicts(b), vec![]);
}

#[test]
fn faults_are_retried_or_fail_only_their_school_and_change_nothing() {
    let lab = lab(4, 4);
    let t = &lab.t;
    let ids = lab.sandbox.school_ids();
    let rule = |school: &str, times, fault| FaultRule {
        school: Some(school.into()),
        page: None,
        skip: 0,
        times,
        fault,
    };
    // Recoverable within the host's four attempts:
    lab.sandbox.inject(rule(&ids[0], 1, Fault::Status(503)));
    lab.sandbox.inject(rule(
        &ids[0],
        1,
        Fault::TooMany {
            retry_after_secs: Some(1),
        },
    ));
    lab.sandbox.inject(rule(&ids[0], 1, Fault::ConnectionReset));
    lab.sandbox.inject(rule(&ids[1], 1, Fault::TruncatedBody));
    lab.sandbox.inject(rule(
        &ids[1],
        1,
        Fault::TooMany {
            retry_after_secs: None,
        },
    ));
    lab.sandbox.inject(rule(
        &ids[1],
        1,
        Fault::Slow(std::time::Duration::from_millis(300)),
    ));
    // Not recoverable:
    lab.sandbox.inject(rule(&ids[2], 100, Fault::Status(403)));
    lab.sandbox.inject(rule(&ids[3], 100, Fault::Status(500)));
    let held = lab.hold(2, 0, |i| set(i, "address.postcode", Some("ZZ9 9ZZ")));

    let result = lab.import();
    let report = result
        .outcome
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{}", result.log));
    assert!(
        report.summary.contains(&ids[2]) && report.summary.contains(&ids[3]),
        "{}",
        report.summary
    );
    assert_eq!(
        t.count("import_files", "status = 'completed'"),
        2,
        "the schools that recovered completed:\n{}",
        result.log
    );
    let errors: Vec<String> = {
        let conn = t.conn();
        let mut stmt = conn
            .prepare("SELECT error_log FROM import_files WHERE status = 'failed' ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0].contains("403") && errors[0].contains("not approved"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("500") && errors[1].contains("4 attempt"),
        "{errors:?}"
    );
    assert_eq!(
        t.svc.student(held).unwrap().value("address.postcode"),
        Some("ZZ9 9ZZ"),
        "a failed school changes nothing"
    );
    assert_eq!(t.count("conflicts", "1"), 0);
    assert_eq!(
        t.count(
            "unmatched",
            &format!(
                "school_id IN (SELECT id FROM schools WHERE wonde_id IN ('{}', '{}'))",
                ids[2], ids[3]
            )
        ),
        0
    );
    assert!(result.log.contains("retrying"), "{}", result.log);
}

#[test]
fn the_token_stays_out_of_logs_payloads_and_audit_and_other_hosts_are_denied() {
    let lab = lab(1, 3);
    let t = &lab.t;
    let result = lab.import();
    result.outcome.as_ref().unwrap();
    assert!(
        lab.sandbox.requests().iter().all(|r| r.authorized),
        "the host added the token"
    );
    let conn = t.conn();
    let leaks: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM action_runs WHERE log LIKE '%' || ?1 || '%')
                  + (SELECT COUNT(*) FROM audit WHERE detail LIKE '%' || ?1 || '%')
                  + (SELECT COUNT(*) FROM system_defaults WHERE value LIKE '%' || ?1 || '%')",
            [TOKEN],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaks, 0);
    let file: i64 = conn
        .query_row("SELECT MAX(id) FROM import_files", [], |r| r.get(0))
        .unwrap();
    let payload = b2b_host::storage::files::payload(&conn, file)
        .unwrap()
        .unwrap();
    assert!(!payload.is_empty());
    assert!(!String::from_utf8_lossy(&payload).contains(TOKEN));

    t.svc
        .grant(
            "wonde-import",
            &[Capability::Http("127.0.0.1".into())],
            true,
        )
        .unwrap();
    let denied = lab.import();
    let err = denied.outcome.unwrap_err();
    assert!(err.contains("http:127.0.0.1"), "{err}");
    assert!(denied.log.contains("DENIED"), "{}", denied.log);
}

#[test]
fn adding_or_matching_an_unmatched_student_links_it_for_the_next_import() {
    let lab = lab(1, 3);
    let t = &lab.t;
    lab.import().outcome.unwrap();
    let queued = t.svc.unmatched(None, 10).unwrap();
    assert_eq!(queued.len(), 3);

    let added = t.svc.add_unmatched(queued[0].id).unwrap();
    let s = t.svc.student(added).unwrap();
    assert_eq!(
        s.value("basic.surname"),
        queued[0].surname.as_deref(),
        "added from the incoming record"
    );
    let held = lab.hold(0, 0, |_| {});
    let other = queued.iter().find(|u| u.id != queued[0].id).unwrap();
    t.svc.match_unmatched(other.id, held).unwrap();
    let err = t.svc.add_unmatched(other.id).unwrap_err().to_string();
    assert!(err.contains("already matched"), "{err}");

    let report = lab.t.svc.import(&[], true).unwrap().outcome.unwrap();
    assert!(report.summary.contains("2 matched"), "{}", report.summary);
    assert_eq!(t.count("unmatched", "status = 'open'"), 1);
}

#[test]
fn the_records_of_one_person_are_resolved_together() {
    let lab = lab(2, 2);
    let t = &lab.t;
    // The same pupil sent by two schools (dual registration): one GUID, the
    // same UPN and identifying items, two Wonde records.
    let pupil = lab.sandbox.student(0, 0).unwrap();
    lab.sandbox.edit(1, 0, |s| {
        let id = s.id.clone();
        *s = pupil.clone();
        s.id = id;
    });
    lab.import().outcome.unwrap();
    let first = t
        .svc
        .unmatched(None, 10)
        .unwrap()
        .into_iter()
        .find(|u| u.upi.as_deref() == Some(pupil.upi.as_str()))
        .unwrap();
    let detail = t.svc.unmatched_detail(first.id).unwrap();
    assert_eq!(detail.same_guid.len(), 1, "the other school's record");
    assert_eq!(detail.same_guid[0].1, None, "placed with it");
    let student = t.svc.add_unmatched(first.id).unwrap();
    assert_eq!(
        t.count(
            "unmatched",
            &format!("status = 'added' AND student_id = {student}")
        ),
        2
    );
    assert_eq!(
        t.count("students", "1"),
        1,
        "one held record for the one person"
    );
}

#[test]
fn an_unchanged_schools_repeated_transfer_is_stored_once_and_outlives_either_file() {
    let lab = lab(1, 30);
    let t = &lab.t;
    lab.import().outcome.unwrap();
    lab.t.svc.import(&[], true).unwrap().outcome.unwrap();
    let conn = t.conn();
    let files: Vec<(i64, i64, i64)> = conn
        .prepare("SELECT id, payload_id, payload_bytes FROM import_files ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let [(first, shared, bytes), (second, same, _)] = files[..] else {
        panic!("{files:?}");
    };
    assert_eq!(
        shared, same,
        "the second transfer points at the first's payload"
    );
    assert_eq!(t.count("payloads", "1"), 1);
    let sent = b2b_host::storage::files::payload(&conn, first)
        .unwrap()
        .unwrap();
    assert!(
        (bytes as usize) < sent.len() / 5,
        "stored {bytes} bytes for {} sent",
        sent.len()
    );

    let actor = b2b_host::actor::Actor::named("test");
    b2b_host::storage::files::delete_payloads(&conn, &[first], &actor).unwrap();
    assert_eq!(
        b2b_host::storage::files::payload(&conn, second).unwrap(),
        Some(sent),
        "deleting one file's payload leaves the other's"
    );
    b2b_host::storage::files::delete_payloads(&conn, &[second], &actor).unwrap();
    assert_eq!(t.count("payloads", "1"), 0, "the last file took it with it");
}

#[test]
fn a_school_whose_page_never_answers_fails_alone_while_the_others_finish_at_full_speed() {
    let lab = lab(4, 60);
    let t = &lab.t;
    t.svc.set_default("wonde.per_page", "10").unwrap();
    t.svc.set_default("plugins.http_timeout_secs", "1").unwrap();
    let slow = lab.sandbox.school_ids()[1].clone();
    // Page 2 of one school answers only after every attempt has timed out.
    lab.sandbox.inject(FaultRule {
        school: Some(slow.clone()),
        page: Some(2),
        skip: 0,
        times: u32::MAX,
        fault: Fault::Slow(std::time::Duration::from_secs(3)),
    });
    let ended: Arc<Mutex<Vec<(String, bool, Duration)>>> = Arc::default();
    let started = Instant::now();
    let record = Arc::clone(&ended);
    let progress: b2b_host::import::Progress = Arc::new(move |e: &b2b_host::import::FileEvent| {
        let completed = e.status == b2b_host::storage::files::Status::Completed;
        let mut ended = record.lock().unwrap();
        ended.push((e.school.clone(), completed, started.elapsed()));
    });
    let result = t
        .svc
        .import_with_progress(&[], false, Some(progress))
        .unwrap();
    let ended = ended.lock().unwrap().clone();
    let slow_name = t.svc.school(&slow).unwrap().name;
    let (fast, slowest): (Vec<_>, Vec<_>) = ended.iter().partition(|(s, ..)| *s != slow_name);
    assert_eq!(fast.len(), 3, "{ended:?}\n{}", result.log);
    assert_eq!(slowest.len(), 1, "{ended:?}");
    let (_, completed, slow_end) = slowest[0];
    assert!(!completed, "the slow school failed");
    // Four attempts of a second each and the backoff between them: the slow
    // school ends after some five seconds; each fast one (seven pages) must
    // not have waited on any of them.
    assert!(*slow_end > Duration::from_secs(4), "{ended:?}");
    for (school, completed, at) in &fast {
        assert!(*completed, "{school} completed: {}", result.log);
        assert!(
            *at + Duration::from_secs(3) < *slow_end,
            "{school} finished only after {at:?}, held up by the slow school: {ended:?}"
        );
    }
    let files = t.svc.files(Some(&slow), 1).unwrap();
    let reason = files[0].error_log.clone().unwrap_or_default();
    assert!(
        reason.contains("page 2 of the students") && reason.contains("timed out"),
        "{reason}"
    );
}
