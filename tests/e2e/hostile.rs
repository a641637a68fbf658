//! Hostile plugins, one class of attack each, against the real engine and a
//! real database: the host survives with a clear message, the run ends within
//! a second of its limit or stop, the database is as it was, and no secret
//! leaks into anything it keeps.

use b2b_host::actor::Actor;
use b2b_host::engine::{Engine, RunEnv, Stop};
use b2b_host::plugins::capability::Capability;
use b2b_host::scheduler::{Scheduler, SystemClock};
use b2b_host::secrets::Secrets;
use b2b_host::service::{ActionResult, GrantChoice, RunOptions, Selection, Service};
use b2b_host::storage::conflicts::Filter;
use b2b_host::storage::{cache, conflicts, files, schools, students, tasks};
use b2b_host::time::now;
use b2b_tests::{task, trigger, Answer, Loopback, TestDb};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run adds to the database whatever it does: its own record.
const RUN_RECORD: &[&str] = &["action_runs"];
/// The token of every test that sends one.
const TOKEN: &str = "tok-SECRET-8d444684b7aa";

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn install(t: &TestDb, fixture: &str, grant: &[&str]) {
    let grant = Capability::parse_all(grant).unwrap();
    t.svc
        .install(&t.fixture(fixture), GrantChoice::Only(grant))
        .unwrap_or_else(|e| panic!("{fixture} installs: {e}"));
}

fn run(t: &TestDb, plugin: &str, pairs: &[(&str, &str)]) -> (ActionResult, Duration) {
    let started = Instant::now();
    let result = t
        .svc
        .run_action(plugin, &params(pairs))
        .unwrap_or_else(|e| panic!("{plugin} starts: {e}"));
    (result, started.elapsed())
}

/// Runs a plugin on a thread of its own, as another process would, until
/// it ends or `stop` is given.
fn in_background(
    t: &TestDb,
    plugin: &str,
    pairs: &[(&str, &str)],
    stop: &Stop,
) -> std::thread::JoinHandle<ActionResult> {
    let (path, plugin, params, stop) = (
        t.svc.db().path().to_path_buf(),
        plugin.to_string(),
        params(pairs),
        stop.clone(),
    );
    std::thread::spawn(move || {
        let svc = Service::open(&path, Actor::named("test:runner"))
            .unwrap()
            .with_engine(b2b_tests::engine());
        let options = RunOptions {
            env: RunEnv {
                stop,
                ..RunEnv::default()
            },
            ..RunOptions::default()
        };
        svc.run_action_with(&plugin, &params, options).unwrap()
    })
}

fn error(result: &ActionResult) -> &str {
    result
        .outcome
        .as_ref()
        .err()
        .map(String::as_str)
        .unwrap_or_else(|| panic!("the run succeeded: {:?}", result.outcome))
}

/// A school with two open conflicts, two completed files with payloads and
/// two cache entries: something for a hostile run to damage.
fn seed(t: &TestDb) -> Vec<i64> {
    let conn = t.svc.conn();
    let school = schools::upsert(
        conn,
        &schools::NewSchool {
            wonde_id: "A1",
            name: "Seeded School",
            urn: Some(100_001),
            ..Default::default()
        },
    )
    .unwrap()
    .id;
    let mut conflict_ids = Vec::new();
    for name in ["Ruth", "Amir"] {
        let student =
            students::insert(conn, Some(school), &[("basic.forename", Some(name))]).unwrap();
        conflict_ids.push(
            conflicts::raise(
                conn,
                student,
                "basic.surname",
                Some("Held"),
                Some("Incoming"),
                None,
            )
            .unwrap(),
        );
    }
    for _ in 0..2 {
        files::insert(
            conn,
            Some(school),
            now() - 86_400,
            files::Status::Completed,
            1,
            b"{\"data\":[]}",
        )
        .unwrap();
    }
    for student in ["S1", "S2"] {
        cache::put(conn, school, student, "basic", "hash", now()).unwrap();
    }
    conflict_ids
}

fn set(t: &TestDb, key: &str, value: &str) {
    t.svc.set_default(key, value).unwrap();
}

#[test]
fn a_sleeping_plugin_granted_nothing_ends_at_its_limit_and_changes_nothing() {
    let t = TestDb::new();
    seed(&t);
    install(&t, "sleeper", &[]);
    set(&t, "plugins.time_limit_secs", "2");
    let before = t.dump(RUN_RECORD);
    let (result, took) = run(&t, "sleeper", &[("secs", "60")]);
    assert!(
        error(&result).contains("time limit of 2 s"),
        "{}",
        error(&result)
    );
    assert!(took < Duration::from_secs(3), "ran for {took:?}");
    assert_eq!(t.dump(RUN_RECORD), before);
    let run = t.svc.run(result.run_id).unwrap();
    assert_eq!(run.status, "failed");
}

#[test]
fn the_wasi_clocks_read_the_run_start_and_never_move() {
    let t = TestDb::new();
    install(&t, "sleeper", &[]);
    let (result, _) = run(&t, "sleeper", &[("secs", "1")]);
    let summary = &result.outcome.as_ref().unwrap().summary;
    let numbers: Vec<i64> = summary
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    // slept 1 s; wall clock W then W; monotonic clock moved 0 ms; started at W
    let [slept, before, after, moved, started] = numbers[..] else {
        panic!("{summary}");
    };
    assert_eq!(slept, 1);
    assert_eq!((before, after, moved), (started, started, 0), "{summary}");
}

#[test]
fn while_a_plugin_sleeps_people_and_the_scheduler_still_write() {
    let t = TestDb::new();
    let ids = seed(&t);
    install(&t, "sleeper", &["conflicts:read", "conflicts:write"]);
    install(&t, "noop", &[]);
    let stop = Stop::default();
    // It stages clearing both conflicts, then sleeps for a minute.
    let runner = in_background(&t, "sleeper", &[("secs", "60"), ("write", "true")], &stop);
    let deadline = Instant::now() + Duration::from_secs(20);
    while t.count("action_runs", "status = 'running'") == 0 {
        assert!(Instant::now() < deadline, "the sleeper never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));

    // A person accepts a conflict the sleeper has staged to clear.
    let accepted = t
        .svc
        .accept_conflicts(&Selection {
            filter: Filter {
                ids: vec![ids[0]],
                ..Filter::default()
            },
            all: false,
        })
        .unwrap();
    assert_eq!(accepted, 1);
    // An admin creates a task, and another task's slot comes due and runs.
    let other = t
        .svc
        .create_task(&task(
            "other",
            "noop",
            trigger(serde_json::json!({"kind": "daily", "at": "13:00"})),
        ))
        .unwrap();
    tasks::advance(&t.conn(), other.schedule[0].0, Some(now() - 5)).unwrap();
    let scheduler = Scheduler::new(
        t.svc.db().clone(),
        b2b_tests::engine(),
        Arc::new(SystemClock),
    );
    let tick = scheduler.tick().unwrap();
    assert_eq!(tick.started.len(), 1, "{tick:?}");
    assert!(scheduler.wait_idle(Duration::from_secs(30)));
    let history = t.svc.task_history("other", 1).unwrap();
    assert_eq!(history[0].run.status, tasks::RunStatus::Succeeded);
    assert!(!runner.is_finished(), "the sleeper was still sleeping");

    let stopped_at = Instant::now();
    stop.stop();
    let result = runner.join().unwrap();
    assert!(stopped_at.elapsed() < Duration::from_secs(1));
    assert!(
        error(&result).contains("stopped on request"),
        "{}",
        error(&result)
    );
    // Its staged clear of the other conflict was dropped.
    let status = |id| t.svc.conflict(id).unwrap().conflict.status.to_string();
    assert_eq!(
        (status(ids[0]), status(ids[1])),
        ("accepted".into(), "open".into())
    );
}

#[test]
fn a_describe_that_never_returns_is_refused_within_seconds() {
    let t = TestDb::new();
    let started = Instant::now();
    let err = t
        .svc
        .install(&t.fixture("describe-hang"), GrantChoice::AllRequested)
        .unwrap_err()
        .to_string();
    assert!(err.contains("did not answer within 5 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The host carries on.
    install(&t, "noop", &[]);
    assert!(run(&t, "noop", &[]).0.outcome.is_ok());
}

#[test]
fn retries_never_wait_past_the_deadline_and_never_repeat_a_post() {
    let t = TestDb::new();
    install(&t, "http-prober", &["http:127.0.0.1"]);
    set(&t, "plugins.time_limit_secs", "3");
    let retry_in = |wait: &str| {
        Loopback::start(Answer::Status(
            503,
            vec![("retry-after".into(), wait.into())],
        ))
    };

    let server = retry_in("30");
    let (result, took) = run(&t, "http-prober", &[("url", &server.url("/a"))]);
    assert!(
        error(&result).contains("a retry in 30 s would pass the run's time limit"),
        "{}",
        error(&result)
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert_eq!(server.heads().len(), 1);

    let in_two_minutes = (chrono::Utc::now() + chrono::Duration::seconds(120))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let server = retry_in(&in_two_minutes);
    let (result, _) = run(&t, "http-prober", &[("url", &server.url("/b"))]);
    assert!(
        error(&result).contains("longer than the 60 s the host waits"),
        "{}",
        error(&result)
    );

    let server = retry_in("1");
    let (result, _) = run(
        &t,
        "http-prober",
        &[("url", &server.url("/c")), ("method", "POST")],
    );
    assert!(error(&result).contains("not retried"), "{}", error(&result));
    assert_eq!(server.heads().len(), 1, "a POST is sent once");
}

#[test]
fn a_run_waiting_on_http_ends_within_a_second_of_its_stop() {
    let t = TestDb::new();
    install(&t, "http-prober", &["http:127.0.0.1"]);
    let server = Loopback::start(Answer::Stall(Duration::from_secs(30)));
    let stop = Stop::default();
    let runner = in_background(&t, "http-prober", &[("url", &server.url("/slow"))], &stop);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.heads().is_empty() {
        assert!(Instant::now() < deadline, "the request never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped_at = Instant::now();
    stop.stop();
    let result = runner.join().unwrap();
    assert!(
        stopped_at.elapsed() < Duration::from_secs(1),
        "{:?}",
        stopped_at.elapsed()
    );
    assert!(
        error(&result).contains("stopped on request"),
        "{}",
        error(&result)
    );
}

/// A database pointed at an echoing Wonde on 127.0.0.1 with the token set,
/// and the prober granted 127.0.0.1, the credential and the import.
fn prober_with_token(wonde: &Loopback) -> TestDb {
    let t = TestDb::new();
    install(
        &t,
        "http-prober",
        &[
            "http:127.0.0.1",
            "http:10.255.255.1",
            "credential:wonde",
            "import",
        ],
    );
    set(&t, "wonde.base_url", &wonde.url("/v1.0/"));
    Secrets::for_db(t.svc.db().path())
        .set("wonde", TOKEN, None)
        .unwrap();
    t
}

#[test]
fn a_credential_goes_only_to_its_origin() {
    let wonde = Loopback::start(Answer::Echo);
    let elsewhere = Loopback::start(Answer::Echo);
    let t = prober_with_token(&wonde);
    let with_token = |url: &str, extra: &[(&str, &str)]| {
        let mut pairs = vec![("url", url), ("credential", "wonde")];
        pairs.extend_from_slice(extra);
        run(&t, "http-prober", &pairs).0
    };

    // Another port of the same host is another origin.
    let result = with_token(&elsewhere.url("/v1.0/schools"), &[]);
    assert!(
        error(&result).contains(&format!(
            "only sent to http://127.0.0.1:{} and Wonde's https hosts",
            wonde.port
        )),
        "{}",
        error(&result)
    );
    assert!(elsewhere.heads().is_empty(), "nothing was sent there");

    // Plain http leaves this machine with no token, whatever the base URL says.
    set(&t, "wonde.base_url", "http://10.255.255.1/v1.0/");
    let result = with_token("http://10.255.255.1/v1.0/schools", &[]);
    assert!(
        error(&result).contains("never sent over plain http except to this machine"),
        "{}",
        error(&result)
    );
    set(&t, "wonde.base_url", &wonde.url("/v1.0/"));

    // A plugin may not set authority headers of its own.
    for header in [
        "Authorization: Bearer forged",
        "Host: api.wonde.com",
        "Cookie: a=b",
        "Proxy-Authorization: x",
    ] {
        let result = with_token(&wonde.url("/v1.0/schools"), &[("header", header)]);
        let name = header.split(':').next().unwrap().to_ascii_lowercase();
        assert!(
            error(&result).contains(&format!("may not set the `{name}` header")),
            "{}",
            error(&result)
        );
    }
    assert!(wonde.heads().is_empty());

    // To its own origin it goes once, as the host's one Authorization header.
    assert!(with_token(&wonde.url("/v1.0/schools"), &[]).outcome.is_ok());
    let heads = wonde.heads();
    assert_eq!(heads.len(), 1);
    let authorizations: Vec<&str> = heads[0]
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("authorization:"))
        .collect();
    assert_eq!(authorizations, [format!("authorization: Bearer {TOKEN}")]);
}

#[test]
fn an_echoed_token_is_redacted_from_everything_the_host_keeps() {
    let wonde = Loopback::start(Answer::Echo);
    let t = prober_with_token(&wonde);
    let url = wonde.url("/v1.0/schools");
    for then in ["log", "summary", "error", "store"] {
        let result = run(
            &t,
            "http-prober",
            &[("url", &url), ("credential", "wonde"), ("then", then)],
        )
        .0;
        let shown = format!("{:?} {}", result.outcome, result.log);
        assert!(!shown.contains(TOKEN), "{then}: {shown}");
        // A stored answer is checked in the file below.
        assert!(
            then == "store" || shown.contains("Bearer [redacted]"),
            "{then}: {shown}"
        );
    }
    assert_eq!(wonde.heads().len(), 4, "every request carried the token");
    // What the plugin was handed had the token redacted already, so it
    // cannot pass it on elsewhere.
    let elsewhere = Loopback::start(Answer::Echo);
    let forwarded = run(
        &t,
        "http-prober",
        &[
            ("url", &url),
            ("credential", "wonde"),
            ("then", "forward"),
            ("to", &elsewhere.url("/collect")),
        ],
    )
    .0;
    assert!(forwarded.outcome.is_ok(), "{:?}", forwarded.outcome);
    assert_eq!(elsewhere.heads().len(), 1);
    // The stored transfer is compressed: read it back whole.
    let (file, error_log) = t
        .conn()
        .query_row(
            "SELECT id, error_log FROM import_files ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .unwrap();
    let payload = String::from_utf8(files::payload(&t.conn(), file).unwrap().unwrap()).unwrap();
    assert!(
        payload.contains("Bearer [redacted]") && !payload.contains(TOKEN),
        "{payload}"
    );
    assert!(error_log.contains("Bearer [redacted]"), "{error_log}");
    drop(t.svc.db().connect().unwrap());
    assert!(
        !t.files_contain(TOKEN.as_bytes()),
        "the token is in the database"
    );
}

#[test]
fn a_host_call_waiting_for_the_write_lock_ends_with_the_run() {
    let t = TestDb::new();
    install(&t, "http-prober", &["http:127.0.0.1", "import"]);
    set(&t, "plugins.time_limit_secs", "3");
    // The answer takes a second; once the request is in, another writer
    // takes the lock and keeps it for 5 s, longer than the run may last.
    let server = Arc::new(Loopback::start(Answer::Stall(Duration::from_secs(1))));
    let locker = {
        let (db, server) = (t.svc.db().clone(), Arc::clone(&server));
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while server.heads().is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let conn = db.connect().unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            std::thread::sleep(Duration::from_secs(5));
            conn.execute_batch("ROLLBACK").unwrap();
        })
    };
    let (result, took) = run(
        &t,
        "http-prober",
        &[("url", &server.url("/slow")), ("then", "store")],
    );
    locker.join().unwrap();
    // The plugin's wait for the lock ended at its deadline (3 s); recording
    // the run then waited for the other writer (5 s after the request), not
    // for SQLite's 30 s busy timeout.
    assert!(took < Duration::from_secs(8), "ran for {took:?}");
    assert!(
        error(&result).contains("locked") || error(&result).contains("time limit"),
        "{}",
        error(&result)
    );
}

#[test]
fn a_failed_run_keeps_only_the_import_files_it_finished_whatever_its_grant() {
    let t = TestDb::new();
    seed(&t);
    install(
        &t,
        "leaky-writer",
        &[
            "import",
            "conflicts:read",
            "conflicts:write",
            "files:read",
            "files:delete",
            "cache:read",
            "cache:delete",
        ],
    );
    // What the run may add to: the files (and their stored payloads) and
    // schools it names, and their audit.
    let appended = ["import_files", "payloads", "schools", "audit"];
    let mut except = RUN_RECORD.to_vec();
    except.extend(appended);
    let before = t.dump(&except);
    let before_appended = t.dump(&[]);
    let (result, _) = run(&t, "leaky-writer", &[]);
    let message = error(&result);
    assert!(message.contains("deliberately failed"), "{message}");
    let applied = &result.files.applied;
    assert_eq!(applied.len(), 1, "{:?}", result.files);
    assert!(
        message.contains(&format!(
            "Kept: the import files it applied before that, each whole: {} (Leak Academy); \
             the records of the import files that failed: {} (Leak Academy); the new schools they name: Leak Academy. \
             Nothing else it did was kept.",
            applied[0].id,
            result.files.failed[0].id
        )),
        "{message}"
    );
    assert_eq!(
        t.dump(&except),
        before,
        "conflicts, payloads and cache are as they were"
    );
    let after = t.dump(&[]);
    for table in appended {
        let (old, new) = (&before_appended[table], &after[table]);
        assert_eq!(&new[..old.len()], &old[..], "{table}: only rows were added");
    }
    assert_eq!(t.count("import_files", "status = 'completed'"), 3);
    assert_eq!(
        t.count(
            "import_files",
            "status = 'failed' AND error_log LIKE '%stopped before%'"
        ),
        1
    );
}

#[test]
fn one_memory_budget_covers_every_memory_of_a_run() {
    let t = TestDb::new();
    let err = t
        .svc
        .install(&t.fixture("many-memories"), GrantChoice::AllRequested)
        .unwrap_err()
        .to_string();
    // Refused when it is compiled, before anything runs.
    assert!(
        err.contains("defined memories count of 16 exceeds"),
        "{err}"
    );

    install(&t, "spread-memory", &[]);
    set(&t, "plugins.memory_mb", "256");
    let (result, _) = run(&t, "spread-memory", &[]);
    assert!(
        error(&result).contains("more than its memory limit of 256 MiB"),
        "{}",
        error(&result)
    );
}

#[test]
fn a_plugin_cannot_make_the_host_keep_a_huge_summary_error_log_or_descriptor() {
    let t = TestDb::new();
    install(&t, "bloater", &[]);
    let eight_mib = |what| run(&t, "bloater", &[("what", what), ("mb", "8")]).0;
    let summary = eight_mib("summary").outcome.unwrap().summary;
    assert!(
        summary.len() < 5 << 10 && summary.ends_with("more bytes cut]"),
        "{}",
        summary.len()
    );
    assert!(error(&eight_mib("error")).len() < 10 << 10);
    let logged = eight_mib("log");
    assert!(logged.log.len() < 300 << 10 && logged.log.contains("log truncated"));
    // More than one call may carry is refused before the host holds it.
    let (result, _) = run(&t, "bloater", &[("what", "summary"), ("mb", "60")]);
    assert!(
        error(&result).contains("more than 32 MiB at once"),
        "{}",
        error(&result)
    );
    let size = std::fs::metadata(t.svc.db().path()).unwrap().len()
        + std::fs::metadata(format!("{}-wal", t.svc.db().path().display())).map_or(0, |m| m.len());
    assert!(size < 8 << 20, "the database grew to {size} bytes");

    let err = t
        .svc
        .install(&t.fixture("describe-bloat"), GrantChoice::AllRequested)
        .unwrap_err()
        .to_string();
    assert!(err.contains("description has 8388608 bytes"), "{err}");
}

#[test]
fn what_a_plugin_says_reaches_a_person_escaped() {
    let t = TestDb::new();
    let dir = t.fixture("forger");
    let out = std::process::Command::new(b2b_tests::b2b_binary())
        .arg("--db")
        .arg(t.svc.db().path())
        .args(["plugin", "install"])
        .arg(&dir)
        .env("B2B_CACHE_DIR", t.dir.path().join("cache"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no terminal, no decision: {stdout}"
    );
    for hazard in ['\u{1b}', '\r', '\u{202e}', '\u{7}'] {
        assert!(
            !stdout.contains(hazard),
            "{hazard:?} reached the terminal: {stdout}"
        );
    }
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("asks for 9 capabilities:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(
        lines.len() - at - 1,
        9,
        "the capabilities come last: {stdout}"
    );

    install(&t, "forger", &[]);
    let (result, _) = run(&t, "forger", &[]);
    let summary = &result.outcome.as_ref().unwrap().summary;
    let kept = format!("{summary}\n{}", result.log);
    for hazard in ['\u{1b}', '\r', '\u{202e}', '\u{7}'] {
        assert!(!kept.contains(hazard), "{hazard:?} kept: {kept}");
    }
    assert!(!summary.contains('\n'), "{summary}");
    assert!(
        result.log.lines().all(|l| !l.starts_with("forger DENIED")),
        "a forged host line: {}",
        result.log
    );
}

#[test]
fn a_swapped_compiled_file_is_never_run() {
    let t = TestDb::new();
    let cache = t.dir.path().join("compiled");
    let engine = || Arc::new(Engine::new(Some(cache.clone())).unwrap());
    let path = t.svc.db().path().to_path_buf();
    let svc = Service::open(&path, Actor::named("test:admin"))
        .unwrap()
        .with_engine(engine());
    for fixture in ["noop", "cpu-loop"] {
        svc.install(&t.fixture(fixture), GrantChoice::AllRequested)
            .unwrap();
    }
    let compiled_file = |fixture: &str| {
        let wasm = std::fs::read(t.fixture(fixture).join(format!("{fixture}.wasm"))).unwrap();
        let sha = b2b_host::engine::sha256_hex(&wasm);
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&sha))
            .unwrap_or_else(|| panic!("{fixture} was cached"))
    };
    let (noop, looping) = (compiled_file("noop"), compiled_file("cpu-loop"));
    std::fs::copy(&looping, &noop).unwrap();

    // A new process over the same cache: the swapped file is not trusted.
    let svc = Service::open(&path, Actor::named("test:admin"))
        .unwrap()
        .with_engine(engine());
    svc.set_default("plugins.time_limit_secs", "5").unwrap();
    let result = svc.run_action("noop", &[]).unwrap();
    assert!(result.outcome.is_ok(), "{:?}", result.outcome);
    assert_ne!(
        std::fs::read(&noop).unwrap(),
        std::fs::read(&looping).unwrap()
    );
}
