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
