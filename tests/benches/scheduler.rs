//! What catching up after downtime costs: a minutely task whose host was
//! down for 30 days. First the trigger arithmetic alone (the last slot
//! before now, how many were missed, the next slot), then the whole
//! scheduler tick that records the catch-up run and starts it.
//!
//! `cargo bench -p b2b-tests --bench scheduler`

use b2b_host::scheduler::{Clock, Scheduler};
use b2b_host::service::GrantChoice;
use b2b_host::storage::tasks;
use b2b_tests::{task, trigger, TestDb};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A clock the bench moves.
#[derive(Clone)]
struct Manual(Arc<Mutex<DateTime<Utc>>>);

impl Clock for Manual {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// The median of `times`.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn main() {
    let minutely = trigger(serde_json::json!({"kind": "cron", "expression": "0 * * * * *"}));
    let plan = minutely.plan("Europe/London").unwrap();
    // Down for March 2027, over the spring clock change.
    let down = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
    let back = down + TimeDelta::days(30) + TimeDelta::seconds(30);
    let latest = median(
        (0..21)
            .map(|_| {
                timed(|| {
                    std::hint::black_box(plan.last_at_or_before(back));
                })
            })
            .collect(),
    );
    let count = median(
        (0..21)
            .map(|_| {
                timed(|| {
                    std::hint::black_box(plan.count_between(down, back, usize::MAX));
                })
            })
            .collect(),
    );
    let stepped = median(
        (0..5)
            .map(|_| {
                timed(|| {
                    std::hint::black_box(plan.runs_after(down).take_while(|r| *r <= back).count());
                })
            })
            .collect(),
    );
    let next = median(
        (0..21)
            .map(|_| {
                timed(|| {
                    std::hint::black_box(plan.next_after(back));
                })
            })
            .collect(),
    );
    println!("minutely cron, 30 days down (43,200 slots):");
    println!("  last slot before now            {latest:>10.2?}");
    println!(
        "  count of missed slots           {count:>10.2?}   (stepping through them: {stepped:.2?})"
    );
    println!("  next slot                       {next:>10.2?}");

    let t = TestDb::new();
    t.svc
        .install(&t.fixture("noop"), GrantChoice::AllRequested)
        .unwrap();
    let mut def = task("minutely", "noop", minutely.clone());
    def.catch_up = true;
    let created = t.svc.create_task(&def).unwrap();
    let trigger_id = created.schedule[0].0;
    let clock = Manual(Arc::new(Mutex::new(back)));
    let scheduler = Scheduler::new(
        t.svc.db().clone(),
        b2b_tests::engine(),
        Arc::new(clock.clone()),
    );
    let ticks: Vec<Duration> = (0..11)
        .map(|n| {
            // Each time: the host was down for the 30 days before now.
            let now = back + TimeDelta::days(n);
            *clock.0.lock().unwrap() = now;
            let first = (now - TimeDelta::days(30)).timestamp();
            tasks::advance(&t.conn(), trigger_id, Some(first)).unwrap();
            let took = timed(|| assert_eq!(scheduler.tick().unwrap().started.len(), 1));
            assert!(scheduler.wait_idle(Duration::from_secs(30)));
            took
        })
        .collect();
    println!(
        "  scheduler tick: record the catch-up run and start it   {:>10.2?}",
        median(ticks)
    );
}
