//! What a killed import leaves behind (its run still "running", its files
//! still queued or processing) is ended by the next import or Delete Files,
//! as interrupted; what a live import is doing is never touched, and a
//! second import of the same school at once stands aside, visibly.

use b2b_host::service::ActionStatus;
use b2b_tests::lab::{lab, Lab, TOKEN};
use b2b_wonde_sandbox::{Fault, FaultRule};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Every school's pages answer only after 15 s (the school list at once):
/// an import started now is mid-transfer for that long, which is ample for
/// what each test does meanwhile (the sandbox waits for its answers before
/// it shuts down, so longer only makes the tests slower).
fn stall(lab: &Lab) {
    for school in lab.sandbox.school_ids() {
        lab.sandbox.inject(FaultRule {
            school: Some(school),
            page: None,
            skip: 0,
            times: u32::MAX,
            fault: Fault::Slow(Duration::from_secs(15)),
        });
    }
}

/// `b2b import run` on the lab's database, as its own process.
fn import_process(lab: &Lab) -> Child {
    let db = lab.t.dir.path().join("b2b.db");
    Command::new(b2b_tests::b2b_binary())
        .args(["--db", db.to_str().unwrap(), "import", "run"])
        .env("B2B_WONDE_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (at most 60 s) until `count` files are open (queued or processing).
fn wait_open_files(lab: &Lab, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while lab
        .t
        .count("import_files", "status IN ('queued', 'processing')")
        < count
    {
        assert!(
            Instant::now() < deadline,
            "the import never began its files"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

fn interrupted_files(lab: &Lab) -> i64 {
    lab.t.count(
        "import_files",
        "status = 'failed' AND error_log LIKE 'interrupted: the b2b process importing it stopped%'",
    )
}

#[test]
fn the_next_import_ends_what_a_killed_import_left_and_then_imports() {
    let lab = lab(2, 3);
    stall(&lab);
    let killed = import_process(&lab);
    wait_open_files(&lab, 2);
    kill(killed);
    lab.sandbox.clear_faults();

    let result = lab.import();

    assert_eq!(
        result.status,
        ActionStatus::Succeeded,
        "{:?}",
        result.outcome
    );
    assert_eq!(interrupted_files(&lab), 2, "the killed run's files");
    assert_eq!(
        lab.t.count("action_runs", "status = 'interrupted'"),
        1,
        "the killed run"
    );
    assert_eq!(lab.t.count("import_files", "status = 'completed'"), 2);
    assert_eq!(
        lab.t
            .count("import_files", "status IN ('queued', 'processing')"),
        0
    );
}

#[test]
fn delete_files_ends_what_a_killed_import_left() {
    let lab = lab(1, 3);
    stall(&lab);
    let killed = import_process(&lab);
    wait_open_files(&lab, 1);
    kill(killed);

    let result = lab.t.run("delete-files", &[]);

    assert!(result.outcome.is_ok(), "{:?}", result.outcome);
    assert_eq!(interrupted_files(&lab), 1);
    assert_eq!(lab.t.count("action_runs", "status = 'interrupted'"), 1);
}

#[test]
fn a_live_imports_run_and_files_are_never_touched_and_a_second_import_stands_aside() {
    let lab = lab(1, 3);
    stall(&lab);
    let live = import_process(&lab);
    wait_open_files(&lab, 1);

    let tidy = lab.t.run("delete-files", &[]);
    assert!(tidy.outcome.is_ok(), "{:?}", tidy.outcome);
    let second = lab.import();
    let open = lab
        .t
        .count("import_files", "status IN ('queued', 'processing')");
    let running = lab.t.count("action_runs", "status = 'running'");
    kill(live);

    assert_eq!(open, 1, "the live import's file is still open");
    assert_eq!(running, 1, "the live import is still running");
    assert_eq!(interrupted_files(&lab), 0);
    let error = second.outcome.unwrap_err();
    assert!(
        error.contains("is importing this school now"),
        "the second import names the first: {error}"
    );
}
