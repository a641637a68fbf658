//! The scheduler with an injected clock: slots, overlap, catch-up, time
//! limits, repetition, the Windows Task Scheduler settings, leases between
//! processes and bad input, over real SQLite and real plugin components.

use b2b_host::scheduler::{Clock, Scheduler, Shutdown};
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
    for fixture in ["noop", "cpu-loop", "panicker"] {
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
                .filter(|_| spec.enabled && !spec.is_at_startup())
                .map(|d| b2b_host::storage::tasks::Slot::delayed(d, spec.random_delay_minutes));
            tasks::set_next(&conn, *trigger_id, next).unwrap();
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

    /// A task's runs, oldest first.
    fn history(&self, task: i64) -> Vec<task_runs::TaskRun> {
        let mut runs = task_runs::history(&self.t.conn(), task, 1000).unwrap();
        runs.reverse();
        runs
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
        (
            task(
                "february",
                "noop",
                trigger(
                    serde_json::json!({"kind": "monthly", "days": [31], "months": [2], "at": "06:00"}),
                ),
            ),
            "would never fire: no date within ten years matches it",
        ),
        (
            task(
                "expired",
                "noop",
                trigger(
                    serde_json::json!({"kind": "daily", "at": "06:00", "expiry": "2020-01-01"}),
                ),
            ),
            "would never fire: its last run was at 2019-12-31 06:00:00 UTC, before now",
        ),
        (
            task(
                "crowded",
                "noop",
                trigger(serde_json::json!({"kind": "daily", "at": "06:00",
                    "repeat": {"every_minutes": 30, "for_minutes": 120}, "random_delay_minutes": 30})),
            ),
            "its random delay of 30 minutes is not shorter than the 30 minutes between its runs",
        ),
        (
            {
                let mut d = task("restless", "noop", daily());
                d.restart_on_failure = Some(tasks::Restart {
                    times: 0,
                    every_minutes: 5,
                });
                d
            },
            "`restart_on_failure.times` is 0; give 1 to 999",
        ),
        (
            {
                let mut d = task("forever", "noop", daily());
                d.delete_expired_after_days = Some(3);
                d
            },
            "`delete_expired_after_days` needs a task that expires",
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

fn at(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap()
}

#[test]
fn a_90_minute_repetition_keeps_90_minutes_across_both_uk_changes() {
    // Local midnight on the day the clocks go forward, and on the day they go back.
    for midnight in [utc(2027, 3, 28, 0, 0), utc(2026, 10, 24, 23, 0)] {
        let lab = lab(midnight - Span::hours(1));
        let every_90 = trigger(
            json!({"kind": "daily", "at": "00:00", "repeat": {"every_minutes": 90, "for_minutes": 360}}),
        );
        let id = lab.add(task("every 90", "noop", every_90));
        lab.run_until(midnight + Span::hours(8));
        let times: Vec<_> = lab.runs(id).iter().map(|r| r.0).collect();
        let expected: Vec<_> = (0..5).map(|k| midnight + Span::minutes(90 * k)).collect();
        assert_eq!(times, expected, "elapsed time, not the wall clock");
    }
}

#[test]
fn each_run_starts_within_its_random_delay_and_each_slot_runs_once() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let delayed = trigger(json!({"kind": "daily", "at": "13:00", "random_delay_minutes": 60}));
    let id = lab.add(task("delayed", "noop", delayed));
    lab.run_until(utc(2027, 6, 21, 6, 0));
    let runs = lab.history(id);
    assert_eq!(runs.len(), 20, "one run a day");
    let delays: Vec<i64> = runs
        .iter()
        .map(|r| r.started_at.unwrap() - r.nominal_at)
        .collect();
    assert!(delays.iter().all(|d| (0..=3600).contains(d)), "{delays:?}");
    assert!(
        delays.iter().any(|d| *d != delays[0]),
        "the delay is drawn afresh for each run: {delays:?}"
    );
    assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded));
    let nominal: Vec<_> = runs.iter().map(|r| at(r.nominal_at)).collect();
    let expected: Vec<_> = (1..=20).map(|d| utc(2027, 6, d, 12, 0)).collect();
    assert_eq!(nominal, expected, "runs are recorded for their slots");
}

/// A daily task that restarts twice, ten minutes after each failure.
fn restarting(name: &str, plugin: &str) -> TaskDefinition {
    let mut def = task(
        name,
        plugin,
        trigger(json!({"kind": "daily", "at": "13:00"})),
    );
    def.restart_on_failure = Some(tasks::Restart {
        times: 2,
        every_minutes: 10,
    });
    def
}

#[test]
fn a_failed_run_restarts_n_times_m_minutes_apart() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let id = lab.add(restarting("flaky", "panicker"));
    lab.run_until(utc(2027, 6, 1, 18, 0));
    let runs = lab.history(id);
    let seen: Vec<_> = runs
        .iter()
        .map(|r| (at(r.nominal_at), r.status, r.attempt))
        .collect();
    assert_eq!(
        seen,
        vec![
            (utc(2027, 6, 1, 12, 0), RunStatus::Failed, 1),
            (utc(2027, 6, 1, 12, 10), RunStatus::Failed, 2),
            (utc(2027, 6, 1, 12, 20), RunStatus::Failed, 3),
        ],
        "two restarts, ten minutes after each failure, then no more"
    );
    assert!(runs[1..].iter().all(|r| r.retry_of == Some(runs[0].id)));
    assert!(runs.iter().all(|r| r.retry_at.is_none()));
    // A run that succeeds is not restarted.
    let steady = lab.add(restarting("steady", "noop"));
    lab.run_until(utc(2027, 6, 2, 18, 0));
    assert_eq!(lab.history(steady).len(), 1);
}

#[test]
fn a_run_still_going_at_the_end_of_its_repetition_is_stopped_there() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let mut def = task(
        "bounded",
        "cpu-loop",
        trigger(json!({"kind": "daily", "at": "13:00",
            "repeat": {"every_minutes": 1, "for_minutes": 2, "stop_at_end": true}})),
    );
    def.time_limit_secs = 60;
    let id = lab.add(def);
    // 12:01 BST's slot, three seconds before the repetition ends at 12:02.
    lab.clock.set(utc(2027, 6, 1, 12, 1) + Span::seconds(57));
    let started = Instant::now();
    assert_eq!(lab.scheduler.tick().unwrap().started.len(), 1);
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
        "stopped about three seconds later, not at the 60 s limit: {took:?}"
    );
    let run = lab.history(id).pop().unwrap();
    assert_eq!(
        (at(run.nominal_at), run.status),
        (utc(2027, 6, 1, 12, 1), RunStatus::Stopped)
    );
    assert!(
        run.detail
            .as_deref()
            .unwrap()
            .contains("end of its trigger's repetition"),
        "{:?}",
        run.detail
    );
    // The end itself starts no run: it would be stopped at once.
    lab.clock.set(utc(2027, 6, 1, 12, 2));
    assert!(lab.scheduler.tick().unwrap().started.is_empty());
    let next = lab.t.svc.task("bounded").unwrap().schedule[0].1;
    assert_eq!(next, Some(utc(2027, 6, 2, 12, 0).timestamp()));
}

#[test]
fn an_indefinite_repetition_goes_on_until_the_pattern_fires_again() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let id = lab.add(task(
        "all day",
        "noop",
        trigger(json!({"kind": "daily", "at": "08:00",
            "repeat": {"every_minutes": 300, "indefinitely": true}})),
    ));
    lab.run_until(utc(2027, 6, 2, 11, 0));
    let times: Vec<_> = lab.runs(id).iter().map(|r| r.0).collect();
    // 08:00, 13:00, 18:00, 23:00 and 04:00 BST, then the next 08:00.
    assert_eq!(
        times,
        vec![
            utc(2027, 6, 1, 7, 0),
            utc(2027, 6, 1, 12, 0),
            utc(2027, 6, 1, 17, 0),
            utc(2027, 6, 1, 22, 0),
            utc(2027, 6, 2, 3, 0),
            utc(2027, 6, 2, 7, 0),
        ]
    );
}

#[test]
fn a_trigger_that_is_off_does_not_fire_while_the_others_do() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let mut def = task(
        "two",
        "noop",
        trigger(json!({"kind": "daily", "at": "13:00"})),
    );
    def.triggers.push(trigger(
        json!({"kind": "daily", "at": "15:00", "enabled": false}),
    ));
    let id = lab.add(def);
    lab.run_until(utc(2027, 6, 2, 6, 0));
    let times: Vec<_> = lab.runs(id).iter().map(|r| r.0).collect();
    assert_eq!(times, vec![utc(2027, 6, 1, 12, 0)]);
    let task = lab.t.svc.task("two").unwrap();
    assert_eq!(task.schedule[1].1, None, "an off trigger has no next slot");
    let notes = lab.t.svc.task_notes(&task);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("trigger 2") && n.ends_with("is off")),
        "{notes:?}"
    );
    // Turned on again, it fires.
    let on = lab
        .t
        .svc
        .edit_task("two", |def| {
            def.triggers[1].enabled = true;
            Ok(())
        })
        .unwrap();
    assert!(on.schedule[1].1.is_some());
}

#[test]
fn an_at_startup_trigger_fires_each_time_the_host_starts_within_its_dates() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let id = lab.add(task(
        "at start",
        "noop",
        trigger(json!({"kind": "at_startup", "expiry": "2027-06-10T00:00"})),
    ));
    assert!(
        lab.scheduler.tick().unwrap().started.is_empty(),
        "not without a start"
    );
    assert_eq!(lab.scheduler.start_up().unwrap(), 1);
    assert_eq!(lab.scheduler.tick().unwrap().started.len(), 1);
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    lab.clock.set(utc(2027, 6, 3, 9, 0));
    lab.scheduler.start_up().unwrap();
    lab.scheduler.tick().unwrap();
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
    assert_eq!(
        lab.runs(id),
        vec![
            (utc(2027, 6, 1, 6, 0), RunStatus::Succeeded, 0),
            (utc(2027, 6, 3, 9, 0), RunStatus::Succeeded, 0),
        ]
    );
    // After its expiry, starting the host fires nothing.
    lab.clock.set(utc(2027, 6, 11, 9, 0));
    assert_eq!(lab.scheduler.start_up().unwrap(), 0);
}

#[test]
fn a_task_is_deleted_the_days_it_asked_after_it_expires() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let mut def = task(
        "one-off",
        "noop",
        trigger(json!({"kind": "once", "at": "2027-06-01T13:00"})),
    );
    def.delete_expired_after_days = Some(2);
    let id = lab.add(def);
    assert_eq!(
        lab.t.svc.task("one-off").unwrap().expires_at,
        Some(utc(2027, 6, 1, 12, 0).timestamp())
    );
    lab.run_until(utc(2027, 6, 3, 11, 59));
    assert_eq!(lab.runs(id).len(), 1);
    assert!(lab.scheduler.tick().unwrap().deleted.is_empty(), "not yet");
    lab.clock.set(utc(2027, 6, 3, 12, 0));
    assert_eq!(
        lab.scheduler.tick().unwrap().deleted,
        vec!["one-off".to_string()]
    );
    assert_eq!(lab.t.count("tasks", "1"), 0);
    assert_eq!(
        lab.t.count(
            "audit",
            &format!("action = 'task.delete' AND entity_id = '{id}' AND actor = 'scheduler'")
        ),
        1
    );
}

#[test]
fn queue_one_turns_a_third_slot_away_saying_so() {
    let (lab, id) = overlapping(Overlap::QueueOne);
    lab.clock.set(utc(2027, 6, 3, 12, 0));
    lab.scheduler.tick().unwrap();
    let third = lab.history(id).pop().unwrap();
    assert_eq!(third.status, RunStatus::Skipped);
    let detail = third.detail.unwrap();
    assert!(
        detail.contains("another run already waits to follow it (overlap: queue one)"),
        "{detail}"
    );
    assert!(lab.scheduler.wait_idle(Duration::from_secs(30)));
}

/// Another process that runs tasks: its lease, and a run it holds.
fn other_process(lab: &Lab, task: i64, lease_ms: i64) -> i64 {
    let now = b2b_host::storage::leases::now_ms();
    let owner = b2b_host::storage::leases::Owner {
        id: "other-host:4242:1".into(),
        role: b2b_host::storage::leases::Role::Serve,
        host: "other-host".into(),
        pid: 4242,
        started_at: now / 1000,
        renewed_at_ms: now,
        expires_at_ms: now + lease_ms,
    };
    let conn = lab.t.conn();
    b2b_host::storage::leases::insert(&conn, &owner).unwrap();
    task_runs::record(
        &conn,
        &NewRun {
            task,
            trigger: None,
            nominal: now / 1000,
            status: RunStatus::Running,
            detail: None,
            at: now / 1000,
            missed: Missed::default(),
            attempt: 1,
            retry_of: None,
            started_by: "other",
            owner: &owner.id,
        },
    )
    .unwrap()
    .unwrap()
}

#[test]
fn a_run_whose_process_keeps_its_lease_is_never_taken_for_a_dead_one() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let id = lab.add(task(
        "busy",
        "noop",
        trigger(json!({"kind": "daily", "at": "13:00"})),
    ));
    let theirs = other_process(&lab, id, 60_000);

    assert_eq!(lab.scheduler.recover().unwrap(), 0, "its lease is live");
    let shutdown = Shutdown::default();
    let record = b2b_host::scheduler::run_task_now(&lab.t.svc, "busy", false, &shutdown).unwrap();
    assert_eq!(record.run.status, RunStatus::Skipped);
    let detail = record.run.detail.unwrap();
    assert!(
        detail.contains(&format!(
            "run {theirs} (`b2b serve` on host other-host (pid 4242)) was still going"
        )) && detail.ends_with("--force runs anyway"),
        "{detail}"
    );
    assert_eq!(
        task_runs::get(&lab.t.conn(), theirs).unwrap().status,
        RunStatus::Running
    );

    // Its lease lapses: it died, and its run is recorded as interrupted.
    lab.t
        .conn()
        .execute(
            "UPDATE scheduler_owners SET expires_at_ms = 0 WHERE pid = 4242",
            [],
        )
        .unwrap();
    assert_eq!(lab.scheduler.recover().unwrap(), 1);
    let interrupted = task_runs::get(&lab.t.conn(), theirs).unwrap();
    assert_eq!(interrupted.status, RunStatus::Interrupted);
    assert!(interrupted
        .detail
        .unwrap()
        .contains("other-host (pid 4242), which ran it, stopped"),);
    let record = b2b_host::scheduler::run_task_now(&lab.t.svc, "busy", false, &shutdown).unwrap();
    assert_eq!(record.run.status, RunStatus::Succeeded);
}

#[test]
fn stop_existing_stops_a_run_another_process_holds() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let mut def = task(
        "busy",
        "cpu-loop",
        trigger(json!({"kind": "daily", "at": "13:00"})),
    );
    def.overlap = Overlap::StopExisting;
    def.time_limit_secs = 60;
    lab.add(def);
    // The other process: a scheduler of its own, with a lease of its own.
    let other = Scheduler::new(
        lab.t.svc.db().clone(),
        b2b_tests::engine(),
        Arc::new(lab.clock.clone()),
    );
    let task = lab.t.svc.task("busy").unwrap();
    let actor = b2b_host::actor::Actor::named("test");
    let (first, _) = other.run_now(&task, false, &actor).unwrap();
    let asked = Instant::now();
    let (second, status) = lab.scheduler.run_now(&task, false, &actor).unwrap();
    assert_eq!(status, RunStatus::Running);
    // The other process sees the request when it next looks.
    assert!(other.wait_idle(Duration::from_secs(30)));
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
    let conn = lab.t.conn();
    assert_eq!(
        task_runs::get(&conn, first).unwrap().status,
        RunStatus::Stopped
    );
    assert_eq!(
        task_runs::get(&conn, second).unwrap().status,
        RunStatus::Running
    );
    lab.scheduler.shutdown(Duration::ZERO);
    assert_eq!(
        task_runs::get(&conn, second).unwrap().status,
        RunStatus::Interrupted
    );
}

#[test]
fn task_names_are_trimmed_unique_in_any_case_and_never_all_digits() {
    let lab = lab(utc(2027, 6, 1, 6, 0));
    let daily = || trigger(json!({"kind": "daily", "at": "13:00"}));
    let dup = lab
        .t
        .svc
        .create_task(&task(" Dup ", "noop", daily()))
        .unwrap();
    assert_eq!(dup.definition.name, "Dup");
    assert_eq!(lab.t.svc.task("Dup").unwrap().id, dup.id);
    for (name, says) in [
        ("dup", "task 1 is already named `Dup`"),
        ("2", "may not be all digits: `2` would read as task id 2"),
        ("  ", "a task needs a name"),
        ("tab\there", "control characters"),
    ] {
        let err = lab
            .t
            .svc
            .create_task(&task(name, "noop", daily()))
            .unwrap_err();
        assert!(err.to_string().contains(says), "{name}: {err}");
    }
    // A task an older version let be named in digits is not taken for
    // another task's id.
    let other = lab
        .t
        .svc
        .create_task(&task("other", "noop", daily()))
        .unwrap();
    lab.t
        .conn()
        .execute(
            "UPDATE tasks SET name = ? WHERE id = ?",
            (dup.id.to_string(), other.id),
        )
        .unwrap();
    let err = lab.t.svc.delete_task(&dup.id.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("is both task 1's id and the name of task 2"),
        "{err}"
    );
    assert_eq!(lab.t.count("tasks", "1"), 2, "nothing was deleted");
}
