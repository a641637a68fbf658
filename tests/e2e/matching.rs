//! Matching never attaches one child's data to another: look-alikes (a twin,
//! a pupil with the same name and birthday but another UPN, a record sent
//! twice, a linked record whose UPN changed) go to a person with the held
//! candidate named, whatever the school's "add unmatched" rule says. And a
//! run where schools failed is `partial`, never success.

use b2b_host::service::ActionStatus;
use b2b_host::storage::{schools, students};
use b2b_tests::lab::{lab, set, Lab, TOKEN};
use b2b_tests::TestDb;

/// The school's unmatched records by source id, with their candidates.
fn queued(t: &TestDb, source_id: &str) -> Vec<(i64, String)> {
    let record = t
        .svc
        .unmatched(None, 1000)
        .unwrap()
        .into_iter()
        .find(|u| u.source_id == source_id)
        .unwrap_or_else(|| panic!("{source_id} was not queued for a person"));
    record
        .candidates
        .into_iter()
        .map(|c| (c.student_id, c.reason))
        .collect()
}

/// Turns the first school's "add unmatched" rule on (the LA sets it once it
/// knows the school), so that only a near match keeps a record out of the
/// held data.
fn adding(lab: &Lab) {
    let school = lab.sandbox.school_ids()[0].clone();
    let known = schools::NewSchool {
        wonde_id: &school,
        name: "First",
        ..Default::default()
    };
    schools::upsert(lab.t.svc.conn(), &known).unwrap();
    lab.t.svc.set_add_unmatched(&school, true).unwrap();
}

#[test]
fn a_twin_is_never_merged_into_the_other_and_is_queued_with_the_twin_named() {
    let lab = lab(1, 6);
    let t = &lab.t;
    let first = lab.sandbox.student(0, 0).unwrap();
    lab.sandbox.edit(0, 1, |twin| {
        twin.date_of_birth = first.date_of_birth;
        twin.surname = first.surname.clone();
        twin.gender = first.gender.clone();
        twin.forename = format!("{}a", first.forename);
    });
    let twin = lab.sandbox.student(0, 1).unwrap();
    let held = lab.hold(0, 0, |_| {});
    adding(&lab);
    let before = t.count("students", "1");

    let result = lab.import();
    let report = result.outcome.as_ref().unwrap();

    assert_eq!(
        lab.open_conflicts(held),
        vec![],
        "the twin's data is not the held pupil's"
    );
    let candidates = queued(t, &twin.id);
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    assert_eq!(candidates[0].0, held);
    assert!(
        candidates[0]
            .1
            .contains("same date of birth, surname, gender; forename differ"),
        "{candidates:?}"
    );
    assert_eq!(
        t.count("students", "1"),
        before + 4,
        "the four pupils no one resembles are added; the twin is not"
    );
    assert_eq!(
        t.count(
            "external_ids",
            &format!("source = 'wonde' AND student_id = {held}")
        ),
        1,
        "only the held pupil's own record is linked to it"
    );
    assert!(
        report.summary.contains("1 by UPN and three of"),
        "{}",
        report.summary
    );
    assert!(
        report.summary.contains("1 of them near matches"),
        "{}",
        report.summary
    );
}

#[test]
fn a_pupil_with_the_same_name_and_birthday_but_another_upn_is_not_the_held_one() {
    let lab = lab(1, 3);
    let t = &lab.t;
    let incoming = lab.sandbox.student(0, 0).unwrap();
    let held = lab.hold(0, 0, |i| {
        set(i, "identifiers.upn", Some("Z999999999999"));
        set(i, "identifiers.former_upn", None);
    });
    adding(&lab);

    lab.import().outcome.unwrap();

    assert_eq!(lab.open_conflicts(held), vec![]);
    let candidates = queued(t, &incoming.id);
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    assert_eq!(candidates[0].0, held);
    let reason = &candidates[0].1;
    assert!(
        reason.contains("same date of birth, surname, forename, gender")
            && reason.contains(&format!("UPN {}", incoming.upn))
            && reason.contains("LA holds Z999999999999"),
        "{reason}"
    );
    let detail = t
        .svc
        .unmatched_detail(t.svc.unmatched(None, 10).unwrap()[0].id)
        .unwrap();
    assert_eq!(
        detail.candidates[0].1.id, held,
        "the candidate's held record is shown"
    );
}

#[test]
fn a_pupil_added_earlier_in_the_same_import_is_no_evidence_for_the_next() {
    let lab = lab(1, 4);
    let t = &lab.t;
    adding(&lab);
    let first = lab.sandbox.student(0, 0).unwrap();
    // The school sends one child twice under two Wonde ids, without UPNs.
    lab.sandbox.edit(0, 0, |s| s.upn = String::new());
    lab.sandbox.edit(0, 1, |s| {
        s.upn = String::new();
        s.former_upn = None;
        s.forename = first.forename.clone();
        s.surname = first.surname.clone();
        s.gender = first.gender.clone();
        s.date_of_birth = first.date_of_birth;
    });

    lab.import().outcome.unwrap();

    assert_eq!(
        t.count("students", "1"),
        3,
        "the first record and the two unlike it are added"
    );
    let second = lab.sandbox.student(0, 1).unwrap();
    let candidates = queued(t, &second.id);
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    assert!(
        candidates[0]
            .1
            .contains("added earlier in this same import"),
        "{candidates:?}"
    );
    assert_eq!(t.count("conflicts", "1"), 0, "nothing was merged");
}

#[test]
fn a_linked_record_whose_upn_changed_waits_for_a_person_then_follows_their_decision() {
    let lab = lab(1, 2);
    let t = &lab.t;
    let held = lab.hold(0, 0, |_| {});
    lab.import().outcome.unwrap();
    assert_eq!(
        t.count("external_ids", &format!("student_id = {held}")),
        2,
        "linked by Wonde id and GUID"
    );
    lab.sandbox.edit(0, 0, |s| s.upn = "Y111111111111".into());

    lab.import().outcome.unwrap();

    assert_eq!(
        lab.open_conflicts(held),
        vec![],
        "nothing applied to the linked pupil"
    );
    let source = lab.sandbox.student(0, 0).unwrap().id;
    let candidates = queued(t, &source);
    assert!(
        candidates[0]
            .1
            .contains("is linked to this pupil, but the school sends UPN Y111111111111"),
        "{candidates:?}"
    );

    let record = t.svc.unmatched(None, 10).unwrap()[0].id;
    t.svc.match_unmatched(record, held).unwrap();
    assert_eq!(
        lab.open_conflicts(held),
        vec![("identifiers.upn".into(), Some("Y111111111111".into()))],
        "matching compares the data at once: the UPN difference is for a person"
    );
    let again = lab.t.svc.import(&[], true).unwrap();
    let summary = &again.outcome.as_ref().unwrap().summary;
    assert!(
        summary.contains("Matched 1 pupils: 1 by the school's id"),
        "{summary}"
    );
    assert_eq!(
        t.count("unmatched", "status = 'open'"),
        1,
        "the other pupil only"
    );
    let link: Option<String> = t
        .conn()
        .query_row(
            "SELECT upn FROM external_ids WHERE source = 'wonde' AND external_id = ?",
            [&source],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        link.as_deref(),
        Some("Y111111111111"),
        "the person vouched for it"
    );
    assert!(students::get(t.svc.conn(), held).is_ok());
}

fn failing_school(lab: &Lab) -> String {
    let school = lab.sandbox.school_ids()[1].clone();
    lab.refuse_school(&school);
    school
}

#[test]
fn a_run_where_a_school_failed_is_partial_and_names_it_with_its_reason() {
    let lab = lab(3, 2);
    let t = &lab.t;
    let school = failing_school(&lab);

    let result = lab.import();

    assert_eq!(result.status, ActionStatus::Partial);
    let summary = &result.outcome.as_ref().unwrap().summary;
    assert!(
        summary.contains("1 of 3 schools failed")
            && summary.contains(&school)
            && summary.contains("403 Forbidden"),
        "{summary}"
    );
    assert_eq!(t.count("action_runs", "status = 'partial'"), 1);
}

#[test]
fn the_command_line_exits_8_for_a_partial_import() {
    let lab = lab(2, 2);
    failing_school(&lab);
    let db = lab.t.dir.path().join("b2b.db");
    let out = std::process::Command::new(b2b_tests::b2b_binary())
        .args(["--db", db.to_str().unwrap(), "import", "run"])
        .env("B2B_WONDE_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stdout}\n{stderr}");
    assert!(stdout.contains("partial"), "{stdout}");
    assert!(stderr.contains("ended partial"), "{stderr}");
}
