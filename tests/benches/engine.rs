//! What a plugin costs: compiling it, loading it compiled from the disk
//! cache, and one run (instantiate + call) of a trivial plugin, alone and as
//! a full recorded action run in this process, and as a person runs it: the
//! `b2b action run` command, a process of its own each time.
//!
//! `cargo build --release --bin b2b && cargo bench -p b2b-tests --bench engine`

use b2b_host::actor::Actor;
use b2b_host::engine::{Engine, Limits, RunRequest};
use b2b_host::service::GrantChoice;
use b2b_tests::TestDb;
use std::time::{Duration, Instant};

/// The median of `n` timings of `f`.
fn median(n: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

fn main() {
    let t = TestDb::new();
    let dir = t.fixture("noop");
    let wasm = std::fs::read(dir.join("noop.wasm")).unwrap();
    let clear_conflicts = b2b_host::plugins::builtin::find("clear-conflicts")
        .unwrap()
        .wasm;

    let start = median(11, || {
        Engine::new(None).unwrap();
    });
    let compile = median(5, || {
        Engine::new(None)
            .unwrap()
            .load(clear_conflicts, None)
            .unwrap();
    });
    let cache = tempfile::tempdir().unwrap();
    let trusted = Engine::new(Some(cache.path().into()))
        .unwrap()
        .load(clear_conflicts, None)
        .unwrap()
        .code_sha256()
        .to_string();
    let from_cache = median(5, || {
        Engine::new(Some(cache.path().into()))
            .unwrap()
            .load(clear_conflicts, Some(&trusted))
            .unwrap();
    });

    let engine = b2b_tests::engine();
    let plugin = engine.load(&wasm, None).unwrap();
    let limits = Limits {
        time: Duration::from_secs(10),
        memory_bytes: 64 << 20,
        log_bytes: 64 << 10,
        http_timeout: Duration::from_secs(10),
    };
    let mut conn = Some(t.svc.db().connect().unwrap());
    let run = median(201, || {
        let req = RunRequest {
            plugin_id: "noop".into(),
            conn: conn.take().unwrap(),
            grant: Vec::new(),
            params: Vec::new(),
            limits,
            started_at: 0,
            actor: Actor::system(),
            secrets: b2b_host::secrets::Secrets::for_db(t.svc.db().path()),
            env: Default::default(),
            run_id: 0,
        };
        let out = engine.run(&plugin, req);
        out.outcome.unwrap();
        conn = Some(out.conn);
    });

    t.svc.install(&dir, GrantChoice::AllRequested).unwrap();
    let action = median(51, || {
        t.svc.run_action("noop", &[]).unwrap().outcome.unwrap();
    });
    let command = median(21, || {
        let out = std::process::Command::new(b2b_tests::b2b_binary())
            .arg("--db")
            .arg(t.svc.db().path())
            .args(["action", "run", "noop", "--json"])
            .env("B2B_CACHE_DIR", t.dir.path().join("cache"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });

    println!(
        "start an engine:                           {:>10.2?}",
        start
    );
    println!(
        "compile clear-conflicts ({} KB), no cache: {:>10.2?}",
        clear_conflicts.len() / 1024,
        compile
    );
    println!(
        "load clear-conflicts from the disk cache:  {:>10.2?}",
        from_cache
    );
    println!("run noop (fresh store, instantiate, call):  {:>10.2?}", run);
    println!(
        "b2b action run noop (checks, tx, record):   {:>10.2?}",
        action
    );
    println!(
        "`b2b action run noop` as a process:         {:>10.2?}",
        command
    );
}
