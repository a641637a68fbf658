//! Fire times: the pattern's wall-clock times, resolved to UTC instants.
//!
//! Resolution is not monotonic (a time in a spring-forward gap resolves later
//! than some times just after the gap), so the search does not stop at the
//! first wall-clock time that fires after the given instant: it takes the
//! earliest instant over a window bounded by [`SLACK`].

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::{GapInfo, Tz};
use cron::Schedule;

use super::check::parse_cron;
use super::{parse_zone, Kind, Repeat, Trigger, WeekOfMonth};
use crate::error::Result;

/// Every zone's UTC offset is under a day, so a wall-clock time resolves to
/// an instant less than a day from the same digits read as UTC. This bounds
/// every search window below.
const SLACK: TimeDelta = TimeDelta::days(1);

/// How far ahead to look before deciding a trigger will never fire again.
const HORIZON: TimeDelta = TimeDelta::days(3653);

/// Repetitions at shorter intervals keep a fixed UTC spacing (a half-hourly
/// job stays half-hourly through a clock change); longer ones follow the
/// local clock, like the patterns themselves.
const LOCAL_STEP_MINUTES: u32 = 60;

/// A validated trigger, ready to compute fire times in its zone.
pub(super) struct Plan<'a> {
    trigger: &'a Trigger,
    zone: Tz,
    source: Source,
    start: Option<DateTime<Utc>>,
    expiry: Option<DateTime<Utc>>,
}

/// Where the pattern's wall-clock times come from.
enum Source {
    Once(NaiveDateTime),
    Cron(Box<Schedule>),
    /// The kinds that fire at one time of day on the dates they match.
    Days(NaiveTime),
}

impl<'a> Plan<'a> {
    /// Checks the trigger and the zone and prepares the search.
    pub(super) fn new(trigger: &'a Trigger, tz: &str) -> Result<Self> {
        let zone = parse_zone(tz)?;
        trigger.check()?;
        let source = match &trigger.kind {
            Kind::Once { at } => Source::Once(*at),
            Kind::Cron { expression } => Source::Cron(Box::new(parse_cron(expression)?)),
            Kind::Daily { at, .. }
            | Kind::Weekly { at, .. }
            | Kind::Monthly { at, .. }
            | Kind::MonthlyWeekday { at, .. } => Source::Days(*at),
        };
        let instant = |time: Option<NaiveDateTime>| time.map(|t| resolve(zone, t));
        Ok(Plan {
            trigger,
            zone,
            source,
            start: instant(trigger.start),
            expiry: instant(trigger.expiry),
        })
    }

    /// The first fire time strictly after `after`, if any within [`HORIZON`].
    pub(super) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after = match self.start {
            Some(start) if start > after => start - TimeDelta::nanoseconds(1),
            _ => after,
        };
        // A repetition that began up to its span ago may still have runs to come.
        let from = after.naive_utc() - SLACK - self.repeat_span();
        let until = after.naive_utc() + HORIZON;
        earliest(self.times(from, until), self.expiry, |time| {
            self.first_run(time, after)
        })
    }

    fn repeat_span(&self) -> TimeDelta {
        TimeDelta::minutes(self.trigger.repeat.map_or(0, |r| r.for_minutes.into()))
    }

    /// The pattern's wall-clock times from `from` to `until`, in order.
    fn times(
        &self,
        from: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Box<dyn Iterator<Item = NaiveDateTime> + '_> {
        match &self.source {
            Source::Once(at) => Box::new(std::iter::once(*at)),
            // Run the schedule on the naive wall clock (typed as UTC, which
            // has no clock changes for the crate to get wrong).
            Source::Cron(schedule) => Box::new(
                schedule
                    .after(&from.and_utc())
                    .map(|t| t.naive_utc())
                    .take_while(move |t| *t <= until),
            ),
            Source::Days(at) => {
                let at = *at;
                let anchor = self.trigger.start.map(|s| s.date());
                let kind = &self.trigger.kind;
                Box::new(
                    from.date()
                        .iter_days()
                        .take_while(move |d| *d <= until.date())
                        .filter(move |d| kind.fires_on(*d, anchor))
                        .map(move |d| d.and_time(at)),
                )
            }
        }
    }

    /// The first run strictly after `after` of the pattern firing at the
    /// wall-clock `time`: the time itself or one of its repetitions.
    fn first_run(&self, time: NaiveDateTime, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.trigger.repeat {
            None => Some(resolve(self.zone, time)).filter(|t| *t > after),
            Some(repeat) if repeat.every_minutes < LOCAL_STEP_MINUTES => {
                utc_step_after(resolve(self.zone, time), repeat, after)
            }
            Some(repeat) => self.local_step_after(time, repeat, after),
        }
    }

    /// The first of `time`, `time + every`, ... on the wall clock (within the
    /// repeat's span), each resolved on its own, strictly after `after`.
    fn local_step_after(
        &self,
        time: NaiveDateTime,
        repeat: Repeat,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let every = i64::from(repeat.every_minutes);
        // Steps ending more than SLACK before `after` cannot resolve after it.
        let skip = (after.naive_utc() - SLACK - time).num_minutes().max(0) / every;
        let steps = (skip..=i64::from(repeat.for_minutes) / every)
            .map(|k| time + TimeDelta::minutes(k * every));
        earliest(steps, None, |step| {
            Some(resolve(self.zone, step)).filter(|t| *t > after)
        })
    }
}

/// The first of `first`, `first + every`, ... (within the repeat's span)
/// strictly after `after`, stepping in UTC.
fn utc_step_after(
    first: DateTime<Utc>,
    repeat: Repeat,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let every = i64::from(repeat.every_minutes) * 60;
    let k = if first > after {
        0
    } else {
        (after - first).num_seconds() / every + 1
    };
    (k * every <= i64::from(repeat.for_minutes) * 60).then(|| first + TimeDelta::seconds(k * every))
}

/// The earliest `run(time)` over wall-clock `times` in ascending order, if
/// not after `limit`. A time never runs more than [`SLACK`] before its digits
/// read as UTC, so the search stops once that passes the best run found.
fn earliest(
    times: impl Iterator<Item = NaiveDateTime>,
    limit: Option<DateTime<Utc>>,
    mut run: impl FnMut(NaiveDateTime) -> Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let mut best: Option<DateTime<Utc>> = None;
    for time in times {
        let bound = best.into_iter().chain(limit).min();
        if bound.is_some_and(|b| time - SLACK > b.naive_utc()) {
            break;
        }
        best = best.into_iter().chain(run(time)).min();
    }
    best.filter(|t| limit.is_none_or(|l| *t <= l))
}

/// The instant a wall-clock time runs at (DESIGN.md section 6): the time
/// itself when it exists; its first occurrence when the clocks went back
/// over it; and when they went forward over it, the same digits at the offset
/// in force before the gap, which lands as far past the gap as the time was
/// into it (01:30 on the spring-forward day runs at 02:30 BST).
fn resolve(zone: Tz, time: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&time) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            // Every gap follows a span, so it has an offset before it.
            let gap = GapInfo::new(&time, &zone).and_then(|gap| gap.begin);
            let before = gap.map_or(0, |(_, offset)| offset.fix().local_minus_utc());
            (time - TimeDelta::seconds(before.into())).and_utc()
        }
    }
}

impl Kind {
    /// Whether a date-based kind fires on `date`; `anchor` is the start date
    /// that "every N days/weeks" counts from. `once` and `cron` produce their
    /// times directly and match no date here.
    fn fires_on(&self, date: NaiveDate, anchor: Option<NaiveDate>) -> bool {
        match self {
            Kind::Daily { every_days, .. } => {
                in_cycle(anchor.map(|a| (date - a).num_days()), *every_days)
            }
            Kind::Weekly {
                every_weeks,
                weekdays,
                ..
            } => {
                weekdays.contains(&date.weekday())
                    && in_cycle(anchor.map(|a| weeks_between(a, date)), *every_weeks)
            }
            Kind::Monthly {
                days,
                last_day,
                months,
                ..
            } => {
                in_months(months.as_deref(), date)
                    && (days.contains(&date.day()) || (*last_day && is_last_day(date)))
            }
            Kind::MonthlyWeekday {
                weeks,
                weekdays,
                months,
                ..
            } => {
                in_months(months.as_deref(), date)
                    && weekdays.contains(&date.weekday())
                    && weeks.iter().any(|w| w.contains(date))
            }
            Kind::Once { .. } | Kind::Cron { .. } => false,
        }
    }
}

impl WeekOfMonth {
    fn contains(self, date: NaiveDate) -> bool {
        let week = (date.day() - 1) / 7;
        match self {
            WeekOfMonth::First => week == 0,
            WeekOfMonth::Second => week == 1,
            WeekOfMonth::Third => week == 2,
            WeekOfMonth::Fourth => week == 3,
            WeekOfMonth::Last => (date + TimeDelta::weeks(1)).month() != date.month(),
        }
    }
}

/// Whether `periods` since the anchor is a whole number of cycles of
/// `every`. Without an anchor `every` is 1 (checked), so every period is.
fn in_cycle(periods: Option<i64>, every: u32) -> bool {
    periods.is_none_or(|p| p.rem_euclid(every.into()) == 0)
}

/// Whole Monday-to-Sunday weeks from the week of `from` to the week of `to`.
fn weeks_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let monday = |d: NaiveDate| d - TimeDelta::days(d.weekday().num_days_from_monday().into());
    (monday(to) - monday(from)).num_days() / 7
}

fn in_months(months: Option<&[u32]>, date: NaiveDate) -> bool {
    months.is_none_or(|m| m.contains(&date.month()))
}

fn is_last_day(date: NaiveDate) -> bool {
    date.succ_opt()
        .is_none_or(|next| next.month() != date.month())
}
