//! The `b2b` binary as a person or a script uses it.

use std::path::Path;
use std::process::{Command, Output};

fn b2b(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_b2b"))
        .args(args)
        .current_dir(dir)
        .env_remove("B2B_DB")
        .env(
            "B2B_CACHE_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/compiled-plugins"),
        )
        .output()
        .expect("b2b runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_demo_runs_to_the_end_in_a_fresh_directory_and_again() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = b2b(dir.path(), &["demo"]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
        for expected in [
            "Clear Conflicts",
            "Imported 4 of 4 Wonde schools; received 240 students: 180 matched",
            "Cleared 10 of 60 open conflicts",
            "Delete Files",
            "Clear Cache",
            "Try next:",
        ] {
            assert!(
                stdout.contains(expected),
                "missing {expected:?} in:\n{stdout}"
            );
        }
    }
    let out = b2b(
        dir.path(),
        &["--db", "b2b-demo.db", "--json", "runs", "list"],
    );
    let runs = text(&out.stdout);
    assert_eq!(
        runs.matches("\"status\": \"succeeded\"").count(),
        4,
        "{runs}"
    );
}

#[test]
fn the_demo_will_not_overwrite_a_database_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    assert!(b2b(dir.path(), &["--db", "mine.db", "init"])
        .status
        .success());
    let out = b2b(dir.path(), &["--db", "mine.db", "demo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("was not made by `b2b demo`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn errors_say_what_to_do_and_exit_with_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = b2b(dir.path(), &["conflicts", "list"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("b2b init"),
        "{}",
        text(&out.stderr)
    );

    assert!(b2b(dir.path(), &["init"]).status.success());
    let out = b2b(dir.path(), &["defaults", "set", "wonde.concurrency", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("from 1 to 32"),
        "{}",
        text(&out.stderr)
    );

    let out = b2b(
        dir.path(),
        &["action", "run", "clear-cache", "--param", "all=maybe"],
    );
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out.stderr).contains("b2b runs show 1"),
        "{}",
        text(&out.stderr)
    );

    let out = b2b(dir.path(), &["plugin", "install", "."]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("plugin.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn listings_are_json_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    assert!(b2b(dir.path(), &["init"]).status.success());
    let out = b2b(dir.path(), &["--json", "plugin", "list"]);
    let list = text(&out.stdout);
    assert!(list.trim_start().starts_with('['), "{list}");
    for id in ["clear-cache", "clear-conflicts", "delete-files"] {
        assert!(list.contains(&format!("\"id\": \"{id}\"")), "{list}");
    }
}

#[test]
fn task_flags_set_each_scheduler_setting_and_refuse_what_means_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(b2b(dir.path(), &["init"]).status.success());
    let task = |args: &[&str]| {
        let out = b2b(dir.path(), &[&["--json", "task"], args].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is only JSON ({e}): {}", text(&out.stdout)));
        shown
    };
    let windows = task(&[
        "new",
        "--name",
        "Windows",
        "--daily",
        "08:00",
        "--repeat-every",
        "30",
        "--repeat-for",
        "600",
        "--stop-at-end",
        "--random-delay",
        "10",
        "--expiry",
        "2030-01-01 00:00",
        "--restart-times",
        "3",
        "--restart-every",
        "5",
        "--delete-expired-after-days",
        "7",
        "--action",
        "clear-cache",
    ]);
    assert_eq!(
        windows["triggers"][0],
        serde_json::json!({"kind": "daily", "every_days": 1, "at": "08:00", "expiry": "2030-01-01T00:00",
            "repeat": {"every_minutes": 30, "for_minutes": 600, "stop_at_end": true},
            "random_delay_minutes": 10})
    );
    assert_eq!(
        windows["restart_on_failure"],
        serde_json::json!({"times": 3, "every_minutes": 5})
    );
    assert_eq!(windows["delete_expired_after_days"], 7);
    let all_day = task(&[
        "new",
        "--name",
        "All day",
        "--daily",
        "08:00",
        "--repeat-every",
        "90",
        "--repeat-for",
        "indefinitely",
        "--action",
        "clear-cache",
    ]);
    assert_eq!(all_day["triggers"][0]["repeat"]["indefinitely"], true);
    let boot = task(&[
        "new",
        "--name",
        "Boot",
        "--at-startup",
        "--action",
        "clear-cache",
    ]);
    assert_eq!(
        boot["triggers"][0],
        serde_json::json!({"kind": "at_startup"})
    );
    let off = task(&["edit", "Windows", "--disable-trigger", "1"]);
    assert_eq!(off["triggers"][0]["enabled"], false);

    for (args, says) in [
        (
            &[
                "task",
                "new",
                "--name",
                "c",
                "--cron",
                "0 0 9 * * *",
                "--every",
                "2",
                "--action",
                "clear-cache",
            ][..],
            "--every counts days (--daily) or weeks (--weekly)",
        ),
        (
            &[
                "task",
                "new",
                "--name",
                "2",
                "--daily",
                "08:00",
                "--action",
                "clear-cache",
            ][..],
            "may not be all digits",
        ),
        (
            &["task", "edit", "Boot", "--expiry", "2030-01-01"][..],
            "--expiry belongs to a trigger",
        ),
        (
            &["task", "edit", "Boot", "--enable-trigger", "2"][..],
            "the task has no trigger 2",
        ),
    ] {
        let out = b2b(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
}
