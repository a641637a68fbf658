//! The scheduler with an injected clock: slots, overlap, catch-up, time
//! limits and bad input, over real SQLite and real plugin components.

use b2b_host::scheduler::{Clock, Scheduler};
use b2b_host::service::GrantChoice;
use b2b_host::storage::task_runs::{self, Missed, NewRun};
use b2b_host::storage::tasks::{self, Overlap, RunStatus, TaskDefinition};
use b2b_tests::{task, trigger, TestDb};
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A clock the test moves.
#[derive(Clone)]
struct Manual(Arc<Mutex<DateTime<Utc>>>);

impl Manual {
    fn at(t: DateTime<Utc>) -> Manual {
        Manual(Arc::new(Mutex::new(t)))
    }
    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

impl Clock for Manual {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

struct Lab {
    t: TestDb,
    clock: Manual,
    scheduler: Scheduler,
}

fn lab(start: DateTime<Utc>) -> Lab {
    let t = TestDb::new();
    for fixture in ["noop", "cpu-loop"] {
        t.svc
            .install(&t.fixture(fixture), GrantChoice::AllRequested)
            .unwrap();
    }
    let clock = Manual::at(start);
    let scheduler = Scheduler::new(
        t.svc.db().clone(),
        b2b_tests::engine(),
        Arc::new(clock.clone()),
    );
    Lab {
        t,
        clock,
        scheduler,
    }
}

impl Lab {
    /// Stores a task as if created at the clock's now: creation works out
    /// the next slots from the real now, so they are restated from the test's.
    fn add(&self, def: TaskDefinition) -> i64 {
        let task = self.t.svc.create_task(&def).unwrap();
        let conn = self.t.conn();
        for ((trigger_id, _), spec) in task.schedule.iter().zip(&def.triggers) {
            let next = spec
                .next_after(&def.time_zone, self.clock.now())
                .unwrap()
                .map(|d| d.timestamp());
            tasks::advance(&conn, *trigger_id, next).unwrap();
        }
        task.id
    }

    /// Moves the clock to each due slot up to `until`, ticking at each.
    fn run_until(&self, until: DateTime<Utc>) {
        for _ in 0..10_000 {
            match self.scheduler.next_due().unwrap() {
                Some(due) if due <= until => {
                    self.clock.set(due);
                    self.scheduler.tick().unwrap();
                    assert!(self.scheduler.wait_idle(Duration::from_secs(30)));
                }
                _ => break,
            }
        }
        self.clock.set(until);
    }

    fn runs(&self, task: i64) -> Vec<(DateTime<Utc>, RunStatus, i64)> {
        let mut runs: Vec<_> = task_runs::history(&self.t.conn(), task, 1000)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    DateTime::from_timestamp(r.nominal_at, 0).unwrap(),
                    r.status,
                    r.missed,
                )
            })
            .collect();
        runs.reverse();
        runs
    }
}

#[test]
fn a_daily_1_30_task_runs_once_on_each_clock_change_day() {
    let lab = lab(utc(2027, 3, 27, 12, 0));
    let id = lab.add(task(
        "nightly",
        "noop",
        trigger(serde_json::json!({"kind": "daily", "at": "01:30"})),
    ));
    lab.run_until(utc(2027, 3, 29, 12, 0));
    let runs = lab.runs(id);
    assert_eq!(
        runs.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![utc(2027, 3, 28, 1, 30), utc(2027, 3, 29, 0, 30)],
        "spring forward: 01:30 does not exist, it runs at 02:30 BST (01:30 UTC) once"
    );
    assert!(runs.iter().all(|r| r.1 == RunStatus::Succeeded), "{runs:?}");

    let lab = lab_at_autumn();
    let runs = lab.runs(lab.t.svc.task("nightly").unwrap().id);
    assert_eq!(
        runs.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        "fall back: 01:30 happens twice, it runs once at the first (BST)"
    );
}

fn lab_at_autumn() -> Lab {
    let lab = lab(utc(2026, 10, 24, 12, 0));
    lab.add(task(
        "nightly",
        "noop",
        trigger(serde_json::json!({"kind": "daily", "at": "01:30"})),
    ));
    lab.run_until(utc(2026, 10, 26, 12, 0));
    lab
}

#[test]
fn a_30_minute_repetition_keeps_utc_spacing_through_both_changes() {
    for day in [utc(2027, 3, 27, 23, 0), utc(2026, 10, 24, 22, 0)] {
        let lab = lab(day);
        let every = trigger(
            serde_json::json!({"kind": "daily", "at": "00:00", "repeat": {"every_minutes": 30, "for_minutes": 240}}),
        );
        let id = lab.add(task("half-hourly", "noop", every));
        lab.run_until(day + Span::hours(6));
        let times: Vec<_> = lab.runs(id).iter().map(|r| r.0).collect();
        assert_eq!(times.len(), 9, "{times:?}");
        assert!(
            times.windows(2).all(|w| w[1] - w[0] == Span::minutes(30)),
            "{times:?}"
        );
    }
}

#[test]
fn three_days_down_with_catch_up_runs_once_and_records_the_missed_slots() {
    let lab = lab(utc(2027, 6, 1, 12, 0));
    let mut def = task(
        "catching",
        "noop",
        trigger(serde_json::json!({"kind": "daily", "at": "01:30"})),
    );
    def.catch_up = true;
    let catching = lab.add(def);
    let waiting = lab.add(task(
        "waiting",
        "noop",
        trigger(serde_json::json!({"kind": "daily", "at": "01:30"})),
    ));

    // Down from 2 June 00:00 to 5 June 10:00: four 01:30 slots pass unseen.
    lab.clock.set(utc(2027, 6, 5, 9, 0));
    lab.scheduler.recover().unwrap();
    lab.scheduler.tick().unwrap();
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));

    assert_eq!(
        lab.runs(catching),
        vec![(utc(2027, 6, 5, 0, 30), RunStatus::Succeeded, 3)]
    );
    assert_eq!(
        lab.runs(waiting),
        vec![(utc(2027, 6, 5, 0, 30), RunStatus::Missed, 4)]
    );
    let next = lab.t.svc.task("waiting").unwrap().schedule[0].1;
    assert_eq!(
        next,
        Some(utc(2027, 6, 6, 0, 30).timestamp()),
        "it waits for the next slot"
    );
}

/// A task whose action runs until stopped, and a second slot while it runs.
fn overlapping(overlap: Overlap) -> (Lab, i64) {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let mut def = task(
        "busy",
        "cpu-loop",
        trigger(serde_json::json!({"kind": "daily", "at": "13:00"})),
    );
    def.overlap = overlap;
    def.time_limit_secs = 3;
    let id = lab.add(def);
    // 13:00 BST is 12:00 UTC.
    lab.clock.set(utc(2027, 6, 1, 12, 0));
    lab.scheduler.tick().unwrap();
    lab.clock.set(utc(2027, 6, 2, 12, 0));
    lab.scheduler.tick().unwrap();
    (lab, id)
}

#[test]
fn ignore_new_skips_the_slot() {
    let (lab, id) = overlapping(Overlap::IgnoreNew);
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    let statuses: Vec<_> = lab.runs(id).iter().map(|r| r.1).collect();
    assert_eq!(statuses, vec![RunStatus::TimedOut, RunStatus::Skipped]);
}

#[test]
fn queue_one_runs_the_slot_after_the_first() {
    let (lab, id) = overlapping(Overlap::QueueOne);
    assert_eq!(lab.runs(id)[1].1, RunStatus::Queued);
    // Before the next day's slot: the tick only starts the queued run.
    lab.clock.set(utc(2027, 6, 3, 6, 0));
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    lab.scheduler.tick().unwrap();
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    let statuses: Vec<_> = lab.runs(id).iter().map(|r| r.1).collect();
    assert_eq!(
        statuses,
        vec![RunStatus::TimedOut, RunStatus::TimedOut],
        "the queued run ran after the first"
    );
}

#[test]
fn parallel_runs_both_and_stop_existing_stops_the_first() {
    // Both slots ran (not skipped, not queued), though the second may have
    // waited for the first's write transaction.
    let (lab, id) = overlapping(Overlap::Parallel);
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    assert_eq!(
        lab.runs(id).iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![RunStatus::TimedOut, RunStatus::TimedOut]
    );

    let (lab, id) = overlapping(Overlap::StopExisting);
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    assert_eq!(
        lab.runs(id).iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![RunStatus::Stopped, RunStatus::TimedOut]
    );
}

#[test]
fn a_run_past_its_time_limit_times_out_and_other_tasks_still_run() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let mut slow = task(
        "slow",
        "cpu-loop",
        trigger(serde_json::json!({"kind": "daily", "at": "13:00"})),
    );
    slow.time_limit_secs = 1;
    let slow = lab.add(slow);
    let quick = lab.add(task(
        "quick",
        "noop",
        trigger(serde_json::json!({"kind": "daily", "at": "13:00"})),
    ));
    lab.run_until(utc(2027, 6, 1, 14, 0));
    assert_eq!(lab.runs(slow)[0].1, RunStatus::TimedOut);
    assert_eq!(lab.runs(quick)[0].1, RunStatus::Succeeded);
    let history = lab.t.svc.task_history("slow", 1).unwrap();
    assert!(
        history[0].actions[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("time limit"),
        "{:?}",
        history[0].actions
    );
}

#[test]
fn a_slot_is_recorded_once_whatever_ticks_again() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let id = lab.add(task(
        "once",
        "noop",
        trigger(serde_json::json!({"kind": "once", "at": "2027-06-01 13:00"})),
    ));
    lab.clock.set(utc(2027, 6, 1, 12, 0));
    lab.scheduler.tick().unwrap();
    lab.scheduler.tick().unwrap();
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    let second = Scheduler::new(
        lab.t.svc.db().clone(),
        b2b_tests::engine(),
        Arc::new(lab.clock.clone()),
    );
    second.tick().unwrap();
    assert_eq!(lab.runs(id).len(), 1);
    let slot = utc(2027, 6, 1, 12, 0).timestamp();
    let trigger_id = lab.t.svc.task("once").unwrap().schedule[0].0;
    let again = task_runs::record(
        &lab.t.conn(),
        &NewRun {
            task: id,
            trigger: Some(trigger_id),
            nominal: slot,
            status: RunStatus::Running,
            detail: None,
            at: slot,
            missed: Missed::default(),
            attempt: 1,
            retry_of: None,
            started_by: "test",
            owner: "test",
        },
    )
    .unwrap();
    assert_eq!(again, None, "the unique key refuses the slot");
}

#[test]
fn bad_task_definitions_are_refused_with_what_is_wrong() {
    let lab = lab(utc(2027, 6, 1, 12, 0));
    let daily = || trigger(serde_json::json!({"kind": "daily", "at": "01:30"}));
    let cases: Vec<(TaskDefinition, &str)> = vec![
        (
            task(
                "cron",
                "noop",
                trigger(serde_json::json!({"kind": "cron", "expression": "30 1 * * *"})),
            ),
            "cron",
        ),
        (
            task("ghost", "no-such-plugin", daily()),
            "no plugin `no-such-plugin`",
        ),
        (
            {
                let mut d = task("param", "clear-cache", daily());
                d.actions[0]
                    .params
                    .insert("everything".into(), "true".into());
                d
            },
            "`everything` is not a parameter of clear-cache",
        ),
        (
            task(
                "backwards",
                "noop",
                trigger(serde_json::json!({
            "kind": "daily", "at": "01:30", "start": "2027-06-10 00:00", "expiry": "2027-06-01 00:00"})),
            ),
            "before",
        ),
        (
            {
                let mut d = task("zone", "noop", daily());
                d.time_zone = "Europe/Londno".into();
                d
            },
            "Europe/Londno",
        ),
    ];
    for (def, says) in cases {
        let err = lab.t.svc.create_task(&def).unwrap_err().to_string();
        assert!(err.contains(says), "{}: {err}", def.name);
    }
    assert_eq!(lab.t.count("tasks", "1"), 0, "nothing was stored");
}

#[test]
fn thirty_days_down_a_minutely_task_catches_up_at_once_and_keeps_its_next_slot() {
    let lab = lab(utc(2027, 6, 1, 12, 0));
    let mut def = task(
        "minutely",
        "noop",
        trigger(json!({"kind": "cron", "expression": "0 * * * * *"})),
    );
    def.catch_up = true;
    let id = lab.add(def);

    // Down from just after 12:00 on 1 June until 12:00:30 on 1 July.
    lab.clock.set(utc(2027, 7, 1, 12, 0) + Span::seconds(30));
    let asked = Instant::now();
    let tick = lab.scheduler.tick().unwrap();
    let took = asked.elapsed();
    assert_eq!(tick.started.len(), 1, "{tick:?}");
    assert!(
        took < Duration::from_secs(1),
        "the catch-up took {took:?} to start"
    );
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    let run = &lab.t.svc.task_history("minutely", 1).unwrap()[0].run;
    assert_eq!(
        (run.nominal_at, run.status, run.missed),
        (
            utc(2027, 7, 1, 12, 0).timestamp(),
            RunStatus::Succeeded,
            30 * 1440 - 1
        ),
        "one run for the latest slot stands for the 43,199 before it"
    );
    assert_eq!(
        (run.missed_from, run.missed_until),
        (
            Some(utc(2027, 6, 1, 12, 1).timestamp()),
            Some(utc(2027, 7, 1, 11, 59).timestamp())
        )
    );

    // The next slot runs as usual.
    lab.clock.set(utc(2027, 7, 1, 12, 1));
    assert_eq!(lab.scheduler.tick().unwrap().started.len(), 1);
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    let runs = lab.runs(id);
    assert_eq!(
        runs.last().unwrap(),
        &(utc(2027, 7, 1, 12, 1), RunStatus::Succeeded, 0)
    );
    eprintln!("catch-up tick took {took:?}");
}
