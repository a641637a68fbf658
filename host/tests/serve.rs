//! `b2b serve` as a process: killed mid-run, restarted, stopped by SIGTERM.

use b2b_host::actor::Actor;
use b2b_host::service::Service;
use b2b_host::storage::tasks::{TaskAction, TaskDefinition};
use b2b_host::wonde_sandbox::{Config, Fault, FaultRule, Sandbox};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn serve(db: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_b2b"))
        .args(["--db", db.to_str().unwrap(), "serve", "--grace", "2"])
        .env(
            "B2B_CACHE_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/compiled-plugins"),
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("b2b serve starts")
}

/// Waits (at most 60 s) until the only row of `table` (`task_runs`, or
/// `action_runs` for its action) has `status`.
fn wait_for(db: &Path, table: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let conn = rusqlite::Connection::open(db).unwrap();
    while Instant::now() < deadline {
        let found: Option<String> = conn
            .query_row(&format!("SELECT status FROM {table}"), [], |r| r.get(0))
            .ok();
        if found.as_deref() == Some(status) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the {table} row never became {status}");
}

#[test]
fn a_daemon_killed_mid_run_leaves_it_interrupted_and_the_slot_never_runs_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b2b.db");
    let sandbox = Sandbox::start(Config {
        schools: 1,
        students_per_school: 3,
        ..Config::default()
    })
    .unwrap();
    // Every answer takes a while: the import is mid-run when the daemon dies.
    sandbox.inject(FaultRule {
        school: None,
        page: None,
        skip: 0,
        times: 1000,
        fault: Fault::Slow(Duration::from_secs(15)),
    });
    let svc = Service::create(&db, Actor::named("test")).unwrap();
    svc.point_wonde_at(&sandbox.base_url(), Some(sandbox.token()))
        .unwrap();
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let def = TaskDefinition {
        time_zone: "UTC".into(),
        triggers: vec![
            serde_json::from_value(serde_json::json!({"kind": "once", "at": at})).unwrap(),
        ],
        actions: vec![TaskAction {
            plugin: "wonde-import".into(),
            params: Default::default(),
            on_failure: Default::default(),
        }],
        ..toml::from_str("name = \"import\"\nactions = []").unwrap()
    };
    svc.create_task(&def).unwrap();

    let mut first = serve(&db);
    // Mid-run: the import itself has started, not only the task run.
    wait_for(&db, "action_runs", "running");
    first.kill().unwrap();
    first.wait().unwrap();

    let mut second = serve(&db);
    wait_for(&db, "task_runs", "interrupted");
    // SAFETY: sending SIGTERM to our own child process.
    unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
    let status = second.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM stops the daemon cleanly: {status}"
    );

    let history = svc.task_history("import", 10).unwrap();
    assert_eq!(history.len(), 1, "the slot ran once: {history:?}");
    assert_eq!(history[0].actions.len(), 1);
    assert_eq!(history[0].actions[0].status, "interrupted");
}
