//! The Wonde import of a synthetic LA, end to end: the sandbox server on
//! 127.0.0.1, the wonde-import component, the host's pipeline into SQLite.
//!
//! `cargo bench -p b2b-tests --bench import` (300 schools of 800 students by
//! default; `B2B_BENCH_SCHOOLS` and `B2B_BENCH_STUDENTS` change the size).
//! The LA already holds every student, so the first import matches them all
//! and fills the cache; re-imports then show what the cache saves.

use b2b_host::storage::{in_transaction, students};
use b2b_tests::TestDb;
use b2b_wonde_sandbox::held_record;
use b2b_wonde_sandbox::{Config, Sandbox};
use std::time::{Duration, Instant};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

fn timed(label: &str, students: usize, f: impl FnOnce() -> String) -> Duration {
    let start = Instant::now();
    let summary = f();
    let took = start.elapsed();
    println!(
        "{label:<34} {:>8.2?}  {:>9.0} students/s  peak RSS {} MiB\n    {summary}",
        took,
        students as f64 / took.as_secs_f64(),
        peak_rss_mib().map_or("?".into(), |m| m.to_string())
    );
    took
}

fn main() {
    let (schools, per_school) = (
        size("B2B_BENCH_SCHOOLS", 300),
        size("B2B_BENCH_STUDENTS", 800),
    );
    let total = schools * per_school;
    let token = "bench-token".to_string();
    let sandbox = Sandbox::start(Config {
        schools,
        students_per_school: per_school,
        seed: 11,
        token: token.clone(),
        port: 0,
    })
    .expect("the sandbox starts");
    let t = TestDb::new();
    t.svc
        .point_wonde_at(&sandbox.base_url(), Some(&token))
        .unwrap();

    let seeding = Instant::now();
    in_transaction(t.svc.conn(), |conn| {
        for school in 0..schools {
            for s in sandbox.students(school) {
                let held = held_record(&s);
                let values: Vec<(&str, Option<&str>)> =
                    held.iter().map(|(k, v)| (*k, v.as_deref())).collect();
                students::insert(conn, None, &values)?;
            }
        }
        Ok(())
    })
    .unwrap();
    println!(
        "{schools} schools x {per_school} students = {total}; held records seeded in {:.2?}",
        seeding.elapsed()
    );

    let import = |full: bool| {
        let r = t.svc.import(&[], full).unwrap();
        r.outcome
            .unwrap_or_else(|e| panic!("{e}\n{}", r.log))
            .summary
    };
    let first = timed("first import (matches every student)", total, || {
        import(false)
    });
    let delta = timed("re-import, delta, nothing changed", total, || import(false));
    let full = timed("re-import, full, nothing changed", total, || import(true));
    println!(
        "re-import speed-up over the first: delta {:.1}x, full {:.1}x",
        first.as_secs_f64() / delta.as_secs_f64(),
        first.as_secs_f64() / full.as_secs_f64()
    );
}
