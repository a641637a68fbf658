//! `b2b serve` and `b2b task run` as real processes on one database: two
//! daemons (one holds the database, the other stands by and takes over when
//! the holder's lease lapses), SIGTERM while a run waits on a slow Wonde
//! sandbox on 127.0.0.1, and what `task run` exits with.

use b2b_host::actor::Actor;
use b2b_host::service::Service;
use b2b_host::storage::tasks::{TaskAction, TaskDefinition};
use b2b_wonde_sandbox::{Config, Fault, FaultRule, Sandbox};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The lease the daemons here take: short, so a take-over comes quickly.
const LEASE_SECS: u64 = 3;

/// A database with a Wonde sandbox to import from, every answer of which
/// first waits `slow` (for the first `slow_times` requests).
struct Site {
    dir: tempfile::TempDir,
    sandbox: Option<Sandbox>,
    svc: Service,
}

impl Site {
    fn new(slow: Duration, slow_times: u32) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(Config {
            schools: 1,
            students_per_school: 3,
            ..Config::default()
        })
        .unwrap();
        sandbox.inject(FaultRule {
            school: None,
            page: None,
            skip: 0,
            times: slow_times,
            fault: Fault::Slow(slow),
        });
        let svc = Service::create(&dir.path().join("b2b.db"), Actor::named("test")).unwrap();
        svc.point_wonde_at(&sandbox.base_url(), Some(sandbox.token()))
            .unwrap();
        Site {
            dir,
            sandbox: Some(sandbox),
            svc,
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("b2b.db")
    }

    /// A task running `plugin` on one trigger given as JSON.
    fn task(&self, name: &str, plugin: &str, trigger: serde_json::Value, limit_secs: i64) {
        let def = TaskDefinition {
            time_zone: "UTC".into(),
            time_limit_secs: limit_secs,
            triggers: vec![serde_json::from_value(trigger).unwrap()],
            actions: vec![TaskAction {
                plugin: plugin.into(),
                params: Default::default(),
                on_failure: Default::default(),
            }],
            ..toml::from_str(&format!("name = {name:?}\nactions = []")).unwrap()
        };
        self.svc.create_task(&def).unwrap();
    }

    /// The status of every run of a task, oldest first.
    fn statuses(&self, task: &str) -> Vec<String> {
        let mut runs = self.svc.task_history(task, 100).unwrap();
        runs.reverse();
        runs.iter().map(|r| r.run.status.to_string()).collect()
    }

    /// Waits (at most 60 s) until `query` (one text value) gives `expected`.
    fn wait_for(&self, query: &str, expected: &str) {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let found: Option<String> = conn.query_row(query, [], |r| r.get(0)).ok();
            if found.as_deref() == Some(expected) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("`{query}` never gave {expected}");
    }

    /// Waits until the import of task `task` waits on the network.
    fn wait_importing(&self, task: &str) {
        self.wait_for(
            &format!(
                "SELECT a.status FROM action_runs a JOIN task_runs r ON r.id = a.task_run_id
                 JOIN tasks t ON t.id = r.task_id WHERE t.name = '{task}' ORDER BY a.id DESC"
            ),
            "running",
        );
    }

    fn b2b(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_b2b"));
        command
            .arg("--db")
            .arg(self.db())
            .env(
                "B2B_CACHE_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/compiled-plugins"),
            )
            .stdin(Stdio::null());
        command
    }

    /// `b2b task run NAME`, to its end.
    fn task_run(&self, task: &str) -> Output {
        self.b2b().args(["task", "run", task]).output().unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        // Dropping the sandbox waits for every slow answer it is still
        // sleeping on (up to a minute) though no one waits for them any more;
        // the test process ends soon, and its threads with it.
        std::mem::forget(self.sandbox.take());
    }
}

/// A `b2b serve` process and the lines it has printed.
struct Daemon {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn start(site: &Site, grace_secs: u64) -> Daemon {
        let mut child = site
            .b2b()
            .args(["serve", "--grace", &grace_secs.to_string()])
            .args(["--lease-secs", &LEASE_SECS.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("b2b serve starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = BufReader::new(child.stdout.take().unwrap());
        let seen = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                seen.lock().unwrap().push(line);
            }
        });
        Daemon { child, lines }
    }

    fn said(&self, part: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(part))
    }

    /// Waits (at most `within`) until it has printed a line containing `part`.
    fn wait_said(&self, part: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.said(part) {
            assert!(
                Instant::now() < deadline,
                "it never said `{part}`: {:?}",
                self.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// SIGTERM, then how long it took to exit, and whether it exited cleanly.
    fn terminate(mut self) -> (Duration, bool) {
        let asked = Instant::now();
        self.signal(libc::SIGTERM);
        let status = self.child.wait().unwrap();
        (asked.elapsed(), status.success())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn at_startup() -> serde_json::Value {
    serde_json::json!({"kind": "at_startup"})
}

#[test]
fn two_daemons_on_one_database_run_each_slot_once_and_the_standby_takes_over_when_the_lease_lapses()
{
    // Every answer takes a minute: the import waits on the network throughout.
    let site = Site::new(Duration::from_secs(60), 1000);
    site.task("import", "wonde-import", at_startup(), 3600);
    site.task("tidy", "clear-cache", at_startup(), 3600);

    let first = Daemon::start(&site, 2);
    site.wait_importing("import");
    let second = Daemon::start(&site, 2);
    second.wait_said(
        "the database is held by `b2b serve` on host",
        Duration::from_secs(30),
    );
    assert!(
        second.said(&format!("(pid {})", first.child.id())),
        "it names the holder"
    );

    // Well past a lease: the holder renews it, so nothing of its is touched.
    std::thread::sleep(Duration::from_secs(3 * LEASE_SECS));
    assert_eq!(
        site.statuses("import"),
        vec!["running"],
        "no false interrupt"
    );
    assert_eq!(
        site.statuses("tidy"),
        vec!["succeeded"],
        "only the holder fired"
    );
    assert!(!second.said("serving scheduled tasks"));

    // The holder dies without a word; its lease lapses; the standby takes over.
    let killed = Instant::now();
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    second.wait_said("serving scheduled tasks", Duration::from_secs(30));
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(LEASE_SECS + 5),
        "taken over {took:?} after the holder died, with a {LEASE_SECS} s lease"
    );
    assert!(second.said("1 run(s) left running by a host that stopped were marked interrupted"));
    let import = site.svc.task_history("import", 10).unwrap();
    assert_eq!(import.len(), 2, "{import:?}");
    let dead = &import[1];
    assert_eq!(dead.run.status.to_string(), "interrupted");
    let why = dead.run.detail.clone().unwrap();
    assert!(
        why.contains(&format!(
            "(pid {}), which ran it, stopped",
            first.child.id()
        )),
        "{why}"
    );
    assert_eq!(dead.actions[0].status, "interrupted");
    // The new holder's own start-up slots: one new run each, the import
    // waiting on the network again.
    site.wait_importing("import");
    site.wait_for(
        "SELECT group_concat(r.status) FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE t.name = 'tidy'",
        "succeeded,succeeded",
    );
    let (_, clean) = second.terminate();
    assert!(clean);
}

#[test]
fn sigterm_while_a_run_waits_on_the_network_records_it_within_the_grace_period() {
    // Only the first request is slow: the run after the restart is quick.
    let site = Site::new(Duration::from_secs(60), 1);
    site.task("import", "wonde-import", at_startup(), 3600);
    let daemon = Daemon::start(&site, 3);
    site.wait_importing("import");

    let (took, clean) = daemon.terminate();
    assert!(clean, "SIGTERM stops the daemon cleanly");
    assert!(
        took < Duration::from_secs(3 + 3),
        "it stopped within its 3 s grace (with slack): {took:?}"
    );
    let history = site.svc.task_history("import", 10).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].run.status.to_string(), "interrupted");
    assert!(
        history[0]
            .run
            .detail
            .as_deref()
            .unwrap()
            .contains("the host stopped"),
        "{:?}",
        history[0].run.detail
    );
    assert_ne!(history[0].actions[0].status, "running");

    // Nothing is left running, so `task run` is not skipped.
    let run = site.task_run("import");
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(site.statuses("import"), vec!["interrupted", "succeeded"]);
}

#[test]
fn task_run_obeys_the_overlap_policy_against_a_daemon_and_exits_as_the_readme_says() {
    let site = Site::new(Duration::from_secs(60), 1000);
    site.task("import", "wonde-import", at_startup(), 3600);
    site.task(
        "tidy",
        "clear-cache",
        serde_json::json!({"kind": "daily", "at": "03:00"}),
        3600,
    );
    site.task(
        "hurried",
        "wonde-import",
        serde_json::json!({"kind": "daily", "at": "03:00"}),
        2,
    );
    let daemon = Daemon::start(&site, 2);
    site.wait_importing("import");

    let skipped = site.task_run("import");
    let said = String::from_utf8_lossy(&skipped.stderr);
    assert_eq!(skipped.status.code(), Some(4), "skipped: {said}");
    assert!(
        said.contains("(`b2b serve` on host")
            && said.contains(&format!(
                "(pid {})) was still going (overlap: ignore new)",
                daemon.child.id()
            )),
        "{said}"
    );
    assert_eq!(site.task_run("tidy").status.code(), Some(0));
    let timed_out = site.task_run("hurried");
    assert_eq!(timed_out.status.code(), Some(5), "timed out");
    assert!(String::from_utf8_lossy(&timed_out.stderr).contains("timed_out"));
    assert_eq!(site.statuses("import"), vec!["running", "skipped"]);
    let (_, clean) = daemon.terminate();
    assert!(clean);
}

#[test]
fn sigterm_stops_a_task_run_waiting_on_the_network_and_records_it() {
    let site = Site::new(Duration::from_secs(60), 1000);
    site.task(
        "import",
        "wonde-import",
        serde_json::json!({"kind": "daily", "at": "03:00"}),
        3600,
    );
    let mut run = site
        .b2b()
        .args(["task", "run", "import"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    site.wait_importing("import");
    let asked = Instant::now();
    // SAFETY: sending SIGTERM to our own child process.
    unsafe { libc::kill(run.id() as i32, libc::SIGTERM) };
    let status = run.wait().unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        status.code(),
        Some(5),
        "an interrupted run is not a success"
    );
    let history = site.svc.task_history("import", 10).unwrap();
    assert_eq!(history[0].run.status.to_string(), "interrupted");
    assert_ne!(history[0].actions[0].status, "running");
}
