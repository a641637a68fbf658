//! Fire times through Europe/London's clock changes (forward on 2027-03-28,
//! back on 2026-10-25, both at 01:00 UTC), the calendar kinds across whole
//! years, refusals, the stored shapes and the descriptions.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday};
use chrono_tz::Europe::London;
use serde_json::{json, Value};

use super::*;

const LONDON: &str = "Europe/London";

fn trigger(spec: Value) -> Trigger {
    serde_json::from_value(spec).expect("a well-formed trigger")
}

fn utc(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .expect("a test instant")
        .and_utc()
}

fn utcs(texts: &[&str]) -> Vec<DateTime<Utc>> {
    texts.iter().map(|t| utc(t)).collect()
}

fn upcoming(trigger: &Trigger, after: &str, n: usize) -> Vec<DateTime<Utc>> {
    trigger
        .upcoming(LONDON, utc(after), n)
        .expect("a valid trigger")
}

/// Every run in `year`, as London wall-clock times.
fn london_runs(trigger: &Trigger, year: i32) -> Vec<NaiveDateTime> {
    let runs = upcoming(trigger, &format!("{}-12-30 00:00", year - 1), 400);
    let local = runs.iter().map(|t| t.with_timezone(&London).naive_local());
    local.filter(|t| t.year() == year).collect()
}

fn dates(year: i32, month_days: &[(u32, u32)]) -> Vec<NaiveDate> {
    month_days
        .iter()
        .map(|&(m, d)| NaiveDate::from_ymd_opt(year, m, d).expect("a test date"))
        .collect()
}

/// The runs' dates, after checking each run is at `at` on the wall clock.
fn dates_at(runs: &[NaiveDateTime], at: &str) -> Vec<NaiveDate> {
    let at = NaiveTime::parse_from_str(at, "%H:%M").expect("a test time");
    assert!(runs.iter().all(|t| t.time() == at), "{runs:?}");
    runs.iter().map(|t| t.date()).collect()
}

fn refusal(spec: Value, tz: &str) -> String {
    let error = trigger(spec).validate(tz).expect_err("refused");
    assert!(matches!(error, Error::Invalid(_)), "{error:?}");
    error.to_string()
}

#[test]
fn daily_time_skipped_by_spring_forward_runs_after_the_gap() {
    let daily = trigger(json!({"kind": "daily", "at": "01:30"}));
    assert_eq!(
        upcoming(&daily, "2027-03-27 00:00", 3),
        utcs(&["2027-03-27 01:30", "2027-03-28 01:30", "2027-03-29 00:30"])
    );
}

#[test]
fn daily_time_repeated_by_fall_back_runs_once_at_the_first() {
    let daily = trigger(json!({"kind": "daily", "at": "01:30"}));
    assert_eq!(
        upcoming(&daily, "2026-10-24 12:00", 2),
        utcs(&["2026-10-25 00:30", "2026-10-26 01:30"])
    );
    // Asked between the two occurrences, it does not run at the second.
    assert_eq!(
        daily.next_after(LONDON, utc("2026-10-25 00:30")).unwrap(),
        Some(utc("2026-10-26 01:30"))
    );
}

#[test]
fn short_repetitions_keep_utc_spacing_through_both_changes() {
    let spec = json!({"kind": "daily", "at": "00:00", "repeat": {"every_minutes": 30, "for_minutes": 240}});
    let repeating = trigger(spec);
    for (after, first) in [
        ("2027-03-27 23:59", "2027-03-28 00:00"),
        ("2026-10-24 22:59", "2026-10-24 23:00"),
    ] {
        let runs = upcoming(&repeating, after, 10);
        assert_eq!(runs[0], utc(first));
        assert!(
            runs[..9]
                .windows(2)
                .all(|w| w[1] - w[0] == TimeDelta::minutes(30)),
            "{runs:?}"
        );
        // The end is included, then the next day's first run.
        assert_eq!(runs[8], utc(first) + TimeDelta::hours(4));
        assert!(runs[9] - runs[8] > TimeDelta::hours(18), "{runs:?}");
    }
}

#[test]
fn repetitions_of_an_hour_or_more_keep_elapsed_time_through_both_changes() {
    let hourly = trigger(
        json!({"kind": "daily", "at": "00:00", "repeat": {"every_minutes": 60, "for_minutes": 240}}),
    );
    // Each day starts at local midnight; within it, runs are 60 minutes of
    // elapsed time apart, so after the change they read an hour off.
    assert_eq!(
        upcoming(&hourly, "2027-03-27 23:59", 6),
        utcs(&[
            "2027-03-28 00:00",
            "2027-03-28 01:00",
            "2027-03-28 02:00",
            "2027-03-28 03:00",
            "2027-03-28 04:00",
            "2027-03-28 23:00"
        ])
    );
    assert_eq!(
        upcoming(&hourly, "2026-10-24 22:59", 6),
        utcs(&[
            "2026-10-24 23:00",
            "2026-10-25 00:00",
            "2026-10-25 01:00",
            "2026-10-25 02:00",
            "2026-10-25 03:00",
            "2026-10-26 00:00"
        ])
    );
    let ninety = trigger(
        json!({"kind": "daily", "at": "00:00", "repeat": {"every_minutes": 90, "for_minutes": 360}}),
    );
    for after in ["2027-03-27 23:59", "2026-10-24 22:59"] {
        let runs = upcoming(&ninety, after, 5);
        assert!(
            runs.windows(2)
                .all(|w| w[1] - w[0] == TimeDelta::minutes(90)),
            "{runs:?}"
        );
    }
}

#[test]
fn an_indefinite_repetition_runs_until_the_pattern_fires_again() {
    let daily = trigger(json!({
        "kind": "daily", "at": "08:00", "repeat": {"every_minutes": 540, "indefinitely": true}
    }));
    // 08:00, 17:00 and 02:00 BST; 11:00 would come after the next day's
    // 08:00, which starts the repetition again.
    assert_eq!(
        upcoming(&daily, "2027-06-01 00:00", 5),
        utcs(&[
            "2027-06-01 01:00",
            "2027-06-01 07:00",
            "2027-06-01 16:00",
            "2027-06-02 01:00",
            "2027-06-02 07:00"
        ])
    );
    let once = trigger(json!({
        "kind": "once", "at": "2027-06-01T08:00", "repeat": {"every_minutes": 30, "indefinitely": true}
    }));
    // For ever after a once trigger, and found from long after it began.
    assert_eq!(
        once.next_after(LONDON, utc("2028-01-01 00:10")).unwrap(),
        Some(utc("2028-01-01 00:30"))
    );
    assert_eq!(once.plan(LONDON).unwrap().ends(), None);
}

#[test]
fn stop_at_end_leaves_out_the_run_at_the_end_and_knows_where_each_repetition_ends() {
    let spec = |stop: bool| {
        trigger(json!({"kind": "daily", "at": "13:00",
            "repeat": {"every_minutes": 30, "for_minutes": 90, "stop_at_end": stop}}))
    };
    let (keeps, stops) = (spec(false), spec(true));
    assert_eq!(upcoming(&keeps, "2027-06-01 00:00", 5).len(), 5);
    assert_eq!(
        upcoming(&stops, "2027-06-01 00:00", 4),
        utcs(&[
            "2027-06-01 12:00",
            "2027-06-01 12:30",
            "2027-06-01 13:00",
            "2027-06-02 12:00"
        ])
    );
    let plan = stops.plan(LONDON).unwrap();
    assert_eq!(
        plan.repetition_end(utc("2027-06-01 12:30")),
        Some(utc("2027-06-01 13:30"))
    );
    assert_eq!(
        keeps
            .plan(LONDON)
            .unwrap()
            .repetition_end(utc("2027-06-01 12:30")),
        None
    );
}

/// Triggers of every shape, through both of London's changes.
fn assorted() -> Vec<Trigger> {
    [
        json!({"kind": "cron", "expression": "0 0,30 * * * *"}),
        json!({"kind": "cron", "expression": "0 * * * * *"}),
        json!({"kind": "daily", "at": "01:30"}),
        json!({"kind": "daily", "at": "00:15", "repeat": {"every_minutes": 90, "for_minutes": 600}}),
        json!({"kind": "daily", "at": "01:00", "repeat": {"every_minutes": 45, "for_minutes": 3000}}),
        json!({"kind": "weekly", "weekdays": ["Sun"], "at": "01:30",
            "repeat": {"every_minutes": 20, "indefinitely": true}}),
        json!({"kind": "monthly", "last_day": true, "at": "02:30", "start": "2026-10-01T00:00",
            "expiry": "2027-04-01T00:00"}),
    ]
    .into_iter()
    .map(trigger)
    .collect()
}

#[test]
fn the_last_run_and_the_count_agree_with_the_runs_listed_one_by_one() {
    for (after, until) in [
        ("2027-03-26 00:00", "2027-03-30 00:00"),
        ("2026-10-23 00:00", "2026-10-27 00:00"),
    ] {
        for t in assorted() {
            let plan = t.plan(LONDON).unwrap();
            let listed: Vec<_> = plan
                .runs_after(utc(after))
                .take_while(|r| *r <= utc(until))
                .collect();
            assert!(listed.windows(2).all(|w| w[0] < w[1]), "{t:?}");
            // Every four hours, each counted from the one before.
            let bounds: Vec<_> = (0..25)
                .map(|n| utc(after) + TimeDelta::minutes(n * 240))
                .collect();
            for pair in bounds.windows(2) {
                let (from, probe) = (pair[0], pair[1]);
                let expected = listed.iter().rev().find(|r| **r <= probe).copied();
                if expected.is_some() {
                    assert_eq!(plan.last_at_or_before(probe), expected, "{t:?} at {probe}");
                }
                let count = listed.iter().filter(|r| from < **r && **r <= probe).count();
                assert_eq!(plan.count_between(from, probe, usize::MAX), count, "{t:?}");
                if let Some(next) = listed.iter().find(|r| **r > probe) {
                    assert_eq!(plan.next_after(probe), Some(*next), "{t:?} after {probe}");
                }
            }
        }
    }
}

#[test]
fn counting_whole_months_agrees_with_stepping_through_every_run() {
    let mut triggers = assorted();
    triggers.extend(
        [
            json!({"kind": "cron", "expression": "30 */7 1-3 * * Mon-Fri"}),
            json!({"kind": "cron", "expression": "0 0 1 29 2 * 2028"}),
            json!({"kind": "daily", "at": "07:00", "start": "2027-03-10T00:00", "expiry": "2027-04-02T12:00",
                "repeat": {"every_minutes": 7, "for_minutes": 600}}),
        ]
        .into_iter()
        .map(trigger),
    );
    for (after, until) in [
        ("2027-03-20 00:10", "2027-04-05 13:00"),
        ("2026-10-18 00:00", "2026-11-02 00:00"),
        ("2028-02-25 00:00", "2028-03-02 00:00"),
    ] {
        for t in &triggers {
            let plan = t.plan(LONDON).unwrap();
            let stepped = plan
                .runs_after(utc(after))
                .take_while(|r| *r <= utc(until))
                .count();
            assert_eq!(
                plan.count_between(utc(after), utc(until), usize::MAX),
                stepped,
                "{t:?} from {after} to {until}"
            );
        }
    }
}

#[test]
fn counting_a_month_of_minutes_stops_at_the_cap() {
    let minutely = trigger(json!({"kind": "cron", "expression": "0 * * * * *"}));
    let plan = minutely.plan(LONDON).unwrap();
    let (from, to) = (utc("2027-03-01 00:00"), utc("2027-03-31 00:00"));
    // Every minute of elapsed time once: the spring-forward gap's wall-clock
    // minutes resolve onto the minutes after it.
    assert_eq!(plan.count_between(from, to, usize::MAX), 30 * 1440);
    assert_eq!(plan.count_between(from, to, 1000), 1000);
    assert_eq!(plan.last_at_or_before(to), Some(to));
}

#[test]
fn at_startup_has_no_times_and_does_not_repeat() {
    let startup = trigger(json!({"kind": "at_startup"}));
    assert_eq!(
        startup.next_after(LONDON, utc("2027-01-01 00:00")).unwrap(),
        None
    );
    assert!(startup.is_at_startup());
    let repeating = refusal(
        json!({"kind": "at_startup", "repeat": {"every_minutes": 5, "for_minutes": 60}}),
        LONDON,
    );
    assert!(repeating.contains("does not repeat"), "{repeating}");
}

#[test]
fn a_task_expires_when_its_trigger_ends() {
    let ends = |spec| trigger(spec).plan(LONDON).unwrap().ends();
    assert_eq!(
        ends(json!({"kind": "once", "at": "2027-06-01T08:00"})),
        Some(utc("2027-06-01 07:00"))
    );
    assert_eq!(
        ends(json!({"kind": "once", "at": "2027-06-01T08:00",
            "repeat": {"every_minutes": 30, "for_minutes": 100}})),
        Some(utc("2027-06-01 08:30"))
    );
    assert_eq!(
        ends(json!({"kind": "daily", "at": "08:00", "expiry": "2027-06-10T00:00"})),
        Some(utc("2027-06-09 23:00"))
    );
    assert_eq!(ends(json!({"kind": "daily", "at": "08:00"})), None);
}

#[test]
fn weekly_every_two_weeks_on_mon_wed_fri_across_2027() {
    let weekly = trigger(json!({
        "kind": "weekly", "every_weeks": 2, "weekdays": ["Mon", "Wed", "Fri"], "at": "01:30",
        "start": "2027-01-04"
    }));
    let days = dates_at(&london_runs(&weekly, 2027), "01:30");
    assert_eq!(days.len(), 26 * 3);
    assert_eq!(days[..4], dates(2027, &[(1, 4), (1, 6), (1, 8), (1, 18)]));
    assert_eq!(days.last(), dates(2027, &[(12, 24)]).last());
    let first_monday = dates(2027, &[(1, 4)])[0];
    assert!(days
        .iter()
        .all(|d| (*d - first_monday).num_days() / 7 % 2 == 0));
    assert!(days
        .iter()
        .all(|d| [Weekday::Mon, Weekday::Wed, Weekday::Fri].contains(&d.weekday())));
}

#[test]
fn monthly_last_friday_across_2027() {
    let last_friday = trigger(
        json!({"kind": "monthly_weekday", "weeks": ["last"], "weekdays": ["Fri"], "at": "01:30"}),
    );
    let expected = [29, 26, 26, 30, 28, 25, 30, 27, 24, 29, 26, 31];
    let expected: Vec<(u32, u32)> = (1..=12).zip(expected).collect();
    assert_eq!(
        dates_at(&london_runs(&last_friday, 2027), "01:30"),
        dates(2027, &expected)
    );
}

#[test]
fn monthly_day_31_skips_short_months() {
    let day_31 = trigger(json!({"kind": "monthly", "days": [31], "at": "06:00"}));
    let expected = [
        (1, 31),
        (3, 31),
        (5, 31),
        (7, 31),
        (8, 31),
        (10, 31),
        (12, 31),
    ];
    assert_eq!(
        dates_at(&london_runs(&day_31, 2027), "06:00"),
        dates(2027, &expected)
    );
}

#[test]
fn monthly_last_day_includes_leap_february() {
    let last_day = trigger(json!({"kind": "monthly", "last_day": true, "at": "06:00"}));
    let expected = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let expected: Vec<(u32, u32)> = (1..=12).zip(expected).collect();
    assert_eq!(
        dates_at(&london_runs(&last_day, 2028), "06:00"),
        dates(2028, &expected)
    );
}

#[test]
fn once_at_a_nonexistent_time_runs_after_the_gap_and_then_never() {
    let once = trigger(json!({"kind": "once", "at": "2027-03-28T01:30"}));
    assert_eq!(
        upcoming(&once, "2027-01-01 00:00", 5),
        utcs(&["2027-03-28 01:30"])
    );
    assert_eq!(
        once.next_after(LONDON, utc("2027-03-28 01:30")).unwrap(),
        None
    );
}

#[test]
fn start_and_expiry_bound_the_runs() {
    let bounded = trigger(json!({
        "kind": "daily", "at": "09:00", "start": "2027-06-10T12:00", "expiry": "2027-06-13T09:00"
    }));
    assert_eq!(
        upcoming(&bounded, "2027-01-01 00:00", 10),
        utcs(&["2027-06-11 08:00", "2027-06-12 08:00", "2027-06-13 08:00"])
    );
}

#[test]
fn a_pattern_that_never_matches_gives_none() {
    let february_30th =
        trigger(json!({"kind": "monthly", "days": [30], "months": [2], "at": "06:00"}));
    assert_eq!(
        february_30th
            .next_after(LONDON, utc("2027-01-01 00:00"))
            .unwrap(),
        None
    );
}

#[test]
fn the_zone_is_the_tasks() {
    let daily = trigger(json!({"kind": "daily", "at": "09:00"}));
    let next = |tz| daily.next_after(tz, utc("2027-07-01 00:00")).unwrap();
    assert_eq!(next(LONDON), Some(utc("2027-07-01 08:00")));
    assert_eq!(next("America/New_York"), Some(utc("2027-07-01 13:00")));
}

#[test]
fn cron_daily_behaves_like_daily_through_both_changes() {
    let cron = trigger(json!({"kind": "cron", "expression": "0 30 1 * * *"}));
    let daily = trigger(json!({"kind": "daily", "at": "01:30"}));
    for after in ["2027-03-25 12:00", "2026-10-22 12:00"] {
        assert_eq!(upcoming(&cron, after, 6), upcoming(&daily, after, 6));
    }
    assert_eq!(
        upcoming(&cron, "2027-03-27 12:00", 2),
        utcs(&["2027-03-28 01:30", "2027-03-29 00:30"])
    );
    assert_eq!(
        upcoming(&cron, "2026-10-24 12:00", 2),
        utcs(&["2026-10-25 00:30", "2026-10-26 01:30"])
    );
}

#[test]
fn cron_half_hourly_runs_each_wall_clock_time_once() {
    let cron = trigger(json!({"kind": "cron", "expression": "0 0,30 * * * *"}));
    // 01:00 and 01:30 GMT do not exist and run at 02:00 and 02:30 BST, as do
    // 02:00 and 02:30 BST themselves: one run each.
    assert_eq!(
        upcoming(&cron, "2027-03-28 00:00", 4),
        utcs(&[
            "2027-03-28 00:30",
            "2027-03-28 01:00",
            "2027-03-28 01:30",
            "2027-03-28 02:00"
        ])
    );
    // 01:00 and 01:30 happen twice and run only the first time (BST).
    assert_eq!(
        upcoming(&cron, "2026-10-24 23:00", 4),
        utcs(&[
            "2026-10-24 23:30",
            "2026-10-25 00:00",
            "2026-10-25 00:30",
            "2026-10-25 02:00"
        ])
    );
}

#[test]
fn bad_triggers_and_zones_are_refused_with_what_is_allowed() {
    let cron = refusal(json!({"kind": "cron", "expression": "0 30 1 * *"}), LONDON);
    assert!(
        cron.starts_with("`0 30 1 * *` is not a valid cron expression: it has 5 fields"),
        "{cron}"
    );
    assert!(
        cron.contains("use 6 or 7 fields, seconds first, e.g. `0 30 1 * * *`"),
        "{cron}"
    );
    let every_second = refusal(json!({"kind": "cron", "expression": "* * * * * *"}), LONDON);
    assert!(
        every_second.contains("runs more than once a minute"),
        "{every_second}"
    );
    let daily = json!({"kind": "daily", "at": "01:30"});
    let zone = refusal(daily, "Europe/Londn");
    assert!(
        zone.contains("unknown time zone `Europe/Londn`; use an IANA name"),
        "{zone}"
    );
    let cases = [
        (
            json!({"kind": "daily", "at": "01:30", "start": "2027-02-01", "expiry": "2027-01-01"}),
            "the expiry 2027-01-01 00:00:00 is before the start 2027-02-01 00:00:00",
        ),
        (
            json!({"kind": "weekly", "weekdays": [], "at": "01:30"}),
            "`weekdays` is empty; list one or more of Mon",
        ),
        (
            json!({"kind": "daily", "every_days": 0, "at": "01:30"}),
            "`every_days` is 0; it must be 1 or more",
        ),
        (
            json!({"kind": "weekly", "every_weeks": 2, "weekdays": ["Mon"], "at": "01:30"}),
            "`every_weeks` is 2 but there is no `start`",
        ),
        (
            json!({"kind": "monthly", "at": "01:30"}),
            "needs `days` (1 to 31) and/or `last_day = true`",
        ),
        (
            json!({"kind": "monthly", "days": [32], "at": "01:30"}),
            "day 32 is not a day of the month; use 1 to 31",
        ),
        (
            json!({"kind": "monthly", "days": [1], "months": [], "at": "01:30"}),
            "`months` is empty",
        ),
        (
            json!({"kind": "monthly", "days": [1], "months": [13], "at": "01:30"}),
            "month 13 is not a month",
        ),
        (
            json!({"kind": "monthly_weekday", "weeks": [], "weekdays": ["Fri"], "at": "01:30"}),
            "`weeks` is empty",
        ),
        (
            json!({"kind": "daily", "at": "01:30", "repeat": {"every_minutes": 0, "for_minutes": 60}}),
            "`repeat.every_minutes` is 0",
        ),
        (
            json!({"kind": "daily", "at": "01:30", "repeat": {"every_minutes": 30, "for_minutes": 20}}),
            "`repeat.for_minutes` (20) is shorter than `repeat.every_minutes` (30)",
        ),
        (
            json!({"kind": "daily", "at": "01:30", "repeat": {"every_minutes": 30, "for_minutes": 50000}}),
            "is more than 44640 (31 days)",
        ),
        (
            json!({"kind": "daily", "at": "01:30", "repeat": {"every_minutes": 30}}),
            "`repeat` needs `for_minutes`",
        ),
        (
            json!({"kind": "daily", "at": "01:30",
                "repeat": {"every_minutes": 30, "for_minutes": 60, "indefinitely": true}}),
            "has both `for_minutes` and `indefinitely`",
        ),
        (
            json!({"kind": "daily", "at": "01:30",
                "repeat": {"every_minutes": 30, "indefinitely": true, "stop_at_end": true}}),
            "`repeat.stop_at_end` needs a duration",
        ),
        (
            json!({"kind": "daily", "at": "01:30", "random_delay_minutes": 50000}),
            "`random_delay_minutes` (50000) is more than 44640",
        ),
        (
            json!({"kind": "cron", "expression": "0 0 9 L * *"}),
            "uses `L` (the last day or weekday of the month), which is not supported",
        ),
        (
            json!({"kind": "cron", "expression": "0 0 9 15W * *"}),
            "uses `W` (the nearest weekday)",
        ),
        (
            json!({"kind": "cron", "expression": "0 0 9 * * 6#3"}),
            "uses `#` (the nth weekday of the month)",
        ),
        (
            json!({"kind": "cron", "expression": "0 0 9 * * 6L"}),
            "use a monthly trigger instead: `--monthly last@HH:MM`",
        ),
        (
            json!({"kind": "cron", "expression": "0 0 9 * * 0-4"}),
            "uses 0 for a weekday; here weekdays run 1 = Sunday to 7 = Saturday",
        ),
    ];
    for (spec, expected) in cases {
        let message = refusal(spec, LONDON);
        assert!(message.contains(expected), "{message}");
    }
    // Computing fire times checks too.
    let bad = trigger(json!({"kind": "weekly", "weekdays": [], "at": "01:30"}));
    assert!(bad.next_after(LONDON, utc("2027-01-01 00:00")).is_err());
}

#[test]
fn unknown_fields_and_unreadable_times_are_refused_when_read() {
    let typo =
        serde_json::from_value::<Trigger>(json!({"kind": "daily", "at": "01:30", "every_day": 2}));
    assert!(typo
        .unwrap_err()
        .to_string()
        .contains("unknown field `every_day`"));
    for bad in ["25:00", "01:30:60", "01:30:00.5", "01:60"] {
        let time = serde_json::from_value::<Trigger>(json!({"kind": "daily", "at": bad}));
        let message = time.unwrap_err().to_string();
        assert!(
            message.contains("expected a time of day such as \"01:30\" or \"01:30:15\" (hours 00 to 23, minutes and whole seconds 00 to 59)"),
            "{bad}: {message}"
        );
    }
    let leap = json!({"kind": "once", "at": "2027-06-30T23:59:60"});
    assert!(serde_json::from_value::<Trigger>(leap).is_err());
}

#[test]
fn cron_weekday_numbers_come_with_what_they_mean_here() {
    let note =
        |expression: &str| trigger(json!({"kind": "cron", "expression": expression})).notes();
    assert_eq!(
        note("0 0 9 * * 2-6"),
        vec![
            "in `0 0 9 * * 2-6` the weekdays `2-6` are Mon, Tue, Wed, Thu, Fri: cron weekday \
              numbers here run 1 = Sunday to 7 = Saturday, one more than Unix cron's; names \
              (Mon-Fri) avoid the doubt"
                .to_owned()
        ]
    );
    assert!(note("0 0 9 * * Mon-Fri").is_empty());
    assert!(note("0 0 9 * * *").is_empty());
}

#[test]
fn every_kind_round_trips_through_json_in_its_stored_shape() {
    let shapes = [
        r#"{"kind":"once","at":"2027-03-28T01:30"}"#,
        r#"{"kind":"daily","every_days":2,"at":"06:00","start":"2027-01-01T00:00"}"#,
        r#"{"kind":"weekly","every_weeks":2,"weekdays":["Mon","Wed","Fri"],"at":"01:30","start":"2027-01-04T00:00","expiry":"2027-12-31T23:59"}"#,
        r#"{"kind":"monthly","days":[1,15],"last_day":true,"months":[3,9],"at":"06:00:30"}"#,
        r#"{"kind":"monthly_weekday","weeks":["first","last"],"weekdays":["Fri"],"at":"01:30"}"#,
        r#"{"kind":"cron","expression":"0 30 1 * * *","repeat":{"every_minutes":30,"for_minutes":720}}"#,
        r#"{"kind":"at_startup","random_delay_minutes":5,"enabled":false}"#,
        r#"{"kind":"daily","every_days":1,"at":"08:00","repeat":{"every_minutes":90,"indefinitely":true}}"#,
        r#"{"kind":"daily","every_days":1,"at":"08:00","repeat":{"every_minutes":30,"for_minutes":600,"stop_at_end":true},"random_delay_minutes":15}"#,
    ];
    for shape in shapes {
        let trigger: Trigger = serde_json::from_str(shape).expect(shape);
        trigger.validate(LONDON).expect(shape);
        assert_eq!(serde_json::to_string(&trigger).unwrap(), shape);
    }
}

#[test]
fn task_files_may_use_tomls_own_dates_and_times() {
    let text = r#"
        kind = "weekly"
        every_weeks = 2
        weekdays = ["mon", "Wednesday"]
        at = 01:30:00
        start = 2027-01-04
        expiry = "2027-12-31 23:59"
        repeat = { every_minutes = 30, for_minutes = 720 }
    "#;
    let expected = trigger(json!({
        "kind": "weekly", "every_weeks": 2, "weekdays": ["Mon", "Wed"], "at": "01:30",
        "start": "2027-01-04T00:00", "expiry": "2027-12-31T23:59",
        "repeat": {"every_minutes": 30, "for_minutes": 720}
    }));
    assert_eq!(toml::from_str::<Trigger>(text).unwrap(), expected);
}

#[test]
fn descriptions_read_like_the_screens() {
    let cases = [
        (
            json!({"kind": "once", "at": "2027-03-28T01:30"}),
            "once at 2027-03-28 01:30",
        ),
        (json!({"kind": "daily", "at": "01:30"}), "daily at 01:30"),
        (
            json!({"kind": "daily", "every_days": 3, "at": "06:00", "start": "2027-01-01"}),
            "every 3 days at 06:00, from 2027-01-01 00:00",
        ),
        (
            json!({"kind": "weekly", "every_weeks": 2, "weekdays": ["Mon", "Wed"], "at": "01:30", "start": "2027-01-04"}),
            "weekly on Mon, Wed every 2 weeks at 01:30, from 2027-01-04 00:00",
        ),
        (
            json!({"kind": "weekly", "weekdays": ["Fri"], "at": "17:00"}),
            "weekly on Fri at 17:00",
        ),
        (
            json!({"kind": "monthly", "days": [1, 15], "last_day": true, "at": "06:00"}),
            "monthly on days 1, 15 and the last day at 06:00",
        ),
        (
            json!({"kind": "monthly", "last_day": true, "months": [3, 9], "at": "06:00"}),
            "monthly on the last day in Mar, Sep at 06:00",
        ),
        (
            json!({"kind": "monthly_weekday", "weeks": ["first", "last"], "weekdays": ["Fri"], "at": "01:30"}),
            "monthly on the first, last Fri at 01:30",
        ),
        (
            json!({"kind": "cron", "expression": "0 30 1 * * *"}),
            "cron `0 30 1 * * *`",
        ),
        (
            json!({"kind": "daily", "at": "08:00", "expiry": "2027-07-23T17:00",
                "repeat": {"every_minutes": 30, "for_minutes": 720}}),
            "daily at 08:00, repeating every 30 minutes for 12 hours, until 2027-07-23 17:00",
        ),
        (
            json!({"kind": "daily", "at": "08:00", "random_delay_minutes": 30,
                "repeat": {"every_minutes": 90, "indefinitely": true}}),
            "daily at 08:00, repeating every 90 minutes indefinitely, delayed at random by up to 30 minutes",
        ),
        (
            json!({"kind": "daily", "at": "08:00",
                "repeat": {"every_minutes": 30, "for_minutes": 60, "stop_at_end": true}}),
            "daily at 08:00, repeating every 30 minutes for 1 hour (runs stopped at the end)",
        ),
    ];
    for (spec, expected) in cases {
        assert_eq!(
            trigger(spec).describe(LONDON),
            format!("{expected} (Europe/London)")
        );
    }
    let off = trigger(json!({"kind": "at_startup", "enabled": false}));
    assert_eq!(
        off.describe(LONDON),
        "when the host starts (Europe/London) [off]"
    );
}
