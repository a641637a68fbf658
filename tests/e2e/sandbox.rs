//! Misbehaving plugins: each fails with a clear message, leaves the database
//! exactly as it was, and the host runs the next action normally.

use b2b_host::service::GrantChoice;
use b2b_host::storage::{conflicts, files, students};
use b2b_host::time::now;
use b2b_tests::TestDb;

/// A database with open conflicts and a deletable file, and `plugin` installed.
fn with_data_and(plugin: &str) -> TestDb {
    let t = TestDb::new();
    let conn = t.svc.conn();
    for name in ["Ann", "Bob", "Cat"] {
        let s = students::insert(conn, None, &[("basic.forename", Some(name))]).unwrap();
        conflicts::raise(
            conn,
            s,
            "basic.forename",
            Some(name),
            Some(&name.to_uppercase()),
            None,
        )
        .unwrap();
    }
    files::insert(
        conn,
        None,
        now() - 1_000_000_000,
        files::Status::Completed,
        1,
        b"payload",
    )
    .unwrap();
    t.svc
        .install(&t.fixture(plugin), GrantChoice::AllRequested)
        .unwrap();
    t.svc
        .install(&t.fixture("noop"), GrantChoice::AllRequested)
        .unwrap();
    t
}

/// What the misbehaving plugins try to change, as a comparable snapshot.
fn snapshot(t: &TestDb) -> (i64, i64, i64) {
    (
        t.count("conflicts", "status = 'open'"),
        t.count("import_files", files::HAS_PAYLOAD),
        t.count("audit", "actor LIKE 'plugin:%'"),
    )
}

/// Runs `plugin`, expects it to fail saying `says`, the data to be as before,
/// and the next action to run normally.
fn fails_cleanly(t: &TestDb, plugin: &str, says: &str) -> String {
    let before = snapshot(t);
    let result = t.run(plugin, &[]);
    let err = result.outcome.expect_err("the run fails");
    assert!(err.contains(says), "{plugin}: {err}");
    assert_eq!(snapshot(t), before, "{plugin} left the database unchanged");
    let run = t.svc.run(result.run_id).unwrap();
    assert_eq!(
        (run.status.as_str(), run.error.as_deref()),
        ("failed", Some(err.as_str()))
    );
    assert!(
        t.run("noop", &[]).outcome.is_ok(),
        "the host carries on after {plugin}"
    );
    result.log
}

#[test]
fn a_cpu_loop_is_stopped_by_the_time_limit() {
    let t = with_data_and("cpu-loop");
    t.svc.set_default("plugins.time_limit_secs", "1").unwrap();
    fails_cleanly(&t, "cpu-loop", "ran past its time limit");
}

#[test]
fn a_memory_bomb_is_stopped_by_the_memory_cap() {
    let t = with_data_and("memory-bomb");
    t.svc.set_default("plugins.memory_mb", "32").unwrap();
    fails_cleanly(&t, "memory-bomb", "more than its memory limit of 32 MiB");
}

#[test]
fn a_panic_fails_the_run_with_the_plugins_message() {
    let t = with_data_and("panicker");
    let log = fails_cleanly(&t, "panicker", "fixture panic: something went wrong");
    assert!(log.contains("panicker stderr:"), "{log}");
}

#[test]
fn a_call_outside_the_grant_is_denied_and_logged() {
    let t = with_data_and("overreach");
    let log = fails_cleanly(&t, "overreach", "needs the `conflicts:read` capability");
    assert!(
        log.contains("overreach DENIED: conflicts.list-open needs the `conflicts:read` capability"),
        "{log}"
    );
}

#[test]
fn a_revoked_capability_is_denied_at_the_next_run() {
    let t = with_data_and("cpu-loop");
    t.svc
        .grant(
            "cpu-loop",
            &[b2b_host::plugins::capability::Capability::ConflictsRead],
            true,
        )
        .unwrap();
    fails_cleanly(
        &t,
        "cpu-loop",
        "denied: it needs the `conflicts:read` capability",
    );
}

#[test]
fn a_flood_of_output_is_capped_in_the_log() {
    let t = with_data_and("output-flood");
    t.svc.set_default("plugins.log_kb", "64").unwrap();
    let result = t.run("output-flood", &[]);
    assert!(result.outcome.is_ok(), "{:?}", result.outcome);
    assert!(
        result.log.len() < 70 * 1024,
        "log is {} bytes",
        result.log.len()
    );
    assert!(
        result.log.contains("output-flood stdout:") && result.log.contains("log truncated"),
        "{}",
        &result.log[result.log.len() - 300..]
    );
    assert_eq!(
        t.svc.run(result.run_id).unwrap().log,
        result.log,
        "the capped log is what the history keeps"
    );
}

#[test]
fn a_component_of_another_world_is_refused_at_install() {
    let t = TestDb::new();
    let err = t
        .svc
        .install(&t.fixture("wrong-world"), GrantChoice::AllRequested)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a B2B action for this host"), "{err}");
    assert!(
        err.contains("It exports: wasi:cli/run"),
        "names what it exports: {err}"
    );
    assert!(
        err.contains("b2b:plugin/action@0.2.0") && err.contains("b2b:plugin/action@0.1.0"),
        "names every version the host offers: {err}"
    );
    assert_eq!(t.count("plugins", "id = 'wrong-world'"), 0);
}

#[test]
fn a_component_built_against_the_frozen_0_1_0_still_installs_describes_and_runs() {
    let t = with_data_and("built-on-0-1");
    let inspected = t.svc.inspect(&t.fixture("built-on-0-1")).unwrap();
    assert_eq!(
        inspected.descriptor.params[0].default.as_deref(),
        Some("none")
    );
    let result = t.run("built-on-0-1", &[("note", "hello")]);
    let report = result
        .outcome
        .unwrap_or_else(|e| panic!("{e}\n{}", result.log));
    assert_eq!(report.summary, "Cleared 3 of 3 open conflicts.");
    assert_eq!(t.count("conflicts", "status = 'open'"), 0);
    assert!(
        result.log.contains(
            "note hello; files kept 90 days; first item Some((\"basic.forename\", ItemKind::Name))"
        ),
        "{}",
        result.log
    );
}

#[test]
fn a_file_that_is_not_a_component_is_refused_at_install() {
    let t = TestDb::new();
    let dir = t.fixture("noop");
    std::fs::write(dir.join("noop.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let err = t
        .svc
        .install(&dir, GrantChoice::AllRequested)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("core WebAssembly module, not a component"),
        "{err}"
    );
    std::fs::write(dir.join("noop.wasm"), b"#!/bin/sh\necho hi\n").unwrap();
    let err = t
        .svc
        .install(&dir, GrantChoice::AllRequested)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a WebAssembly component"), "{err}");
}

#[test]
fn a_wasm_changed_after_install_is_refused() {
    let t = with_data_and("cpu-loop");
    let wasm = t.fixture("noop").join("noop.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    // A custom section appended: still a valid component, but not the one granted.
    bytes.extend_from_slice(&[0x00, 0x04, 0x03, b'x', b'y', b'z']);
    std::fs::write(&wasm, bytes).unwrap();
    let before = snapshot(&t);
    let err = t.svc.run_action("noop", &[]).unwrap_err().to_string();
    assert!(err.contains("changed since it was granted"), "{err}");
    assert_eq!(snapshot(&t), before);
    assert!(
        t.run("clear-conflicts", &[]).outcome.is_ok(),
        "other plugins still run"
    );
}

#[test]
fn a_grant_beyond_what_the_manifest_asks_is_refused() {
    let t = TestDb::new();
    let caps = [b2b_host::plugins::capability::Capability::FilesDelete];
    let err = t
        .svc
        .install(&t.fixture("noop"), GrantChoice::Only(caps.to_vec()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not ask for `files:delete`"), "{err}");
}
