//! Counting a trigger's runs between two instants without stepping through
//! each run where the calendar allows it: a whole day of a cron expression,
//! away from any clock change, holds exactly the product of its hours,
//! minutes and seconds when the date matches; a repetition that ends before
//! the next begins holds a number of steps found by division. Near clock
//! changes, and where repetitions overlap, the runs are stepped through.

use super::{last_step, minutes, resolve, Plan, Source};
use crate::triggers::Repeat;
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};
use cron::{Schedule, TimeUnitSpec};

impl Plan<'_> {
    /// How many runs fall after `after` and at or before `until`, counting
    /// no further than `cap`.
    pub fn count_between(&self, after: DateTime<Utc>, until: DateTime<Utc>, cap: usize) -> usize {
        let after = self.not_before_start(after);
        let until = self.expiry.map_or(until, |expiry| expiry.min(until));
        if until <= after {
            return 0;
        }
        let counted = match (&self.source, self.repeat()) {
            (_, Some(repeat)) => self.count_repetitions(repeat, after, until, cap),
            (Source::Cron(schedule), None) => {
                Some(self.count_cron_days(schedule, after, until, cap))
            }
            // One run a day at most: stepping is counting days.
            _ => None,
        };
        counted
            .unwrap_or_else(|| self.step_through(after, until, cap))
            .min(cap)
    }

    fn step_through(&self, after: DateTime<Utc>, until: DateTime<Utc>, cap: usize) -> usize {
        self.runs_after(after)
            .take_while(|run| *run <= until)
            .take(cap)
            .count()
    }

    /// Repetitions a start at a time; `None` when one runs past the next
    /// start (their steps may coincide, and must be stepped through).
    fn count_repetitions(
        &self,
        repeat: Repeat,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: usize,
    ) -> Option<usize> {
        let every = minutes(repeat.every_minutes);
        let mut starts = self.starts_reaching(after).peekable();
        let mut count = 0;
        while let Some(start) = starts.next().filter(|s| *s <= until && count < cap) {
            let next = starts.peek().copied();
            let last = if repeat.indefinitely {
                next.map(|next| next - TimeDelta::nanoseconds(1))
            } else {
                Some(start + every * last_step(repeat) as i32)
            };
            if last.zip(next).is_some_and(|(last, next)| last >= next) {
                return None;
            }
            let end = last.map_or(until, |last| last.min(until));
            let steps =
                |to: DateTime<Utc>| (to - start).num_seconds().div_euclid(every.num_seconds());
            let first = if start > after { 0 } else { steps(after) + 1 };
            let within = if end >= start {
                steps(end) - first + 1
            } else {
                0
            };
            count += within.max(0) as usize;
        }
        Some(count)
    }

    /// Whole days away from clock changes by arithmetic, the rest stepped.
    fn count_cron_days(
        &self,
        schedule: &Schedule,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: usize,
    ) -> usize {
        let zone = self.zone;
        let day_start = |day: NaiveDate| resolve(zone, day.and_time(NaiveTime::MIN));
        let local_day = |t: DateTime<Utc>| t.with_timezone(&zone).date_naive();
        let (first, last) = (
            local_day(after) + TimeDelta::days(1),
            local_day(until) - TimeDelta::days(1),
        );
        if first > last {
            return self.step_through(after, until, cap);
        }
        // Offsets at the starts of the days around: a day is steady when
        // they agree from the day before it to the day after it.
        let offsets: Vec<FixedOffset> = (first - TimeDelta::days(1))
            .iter_days()
            .take_while(|day| *day <= last + TimeDelta::days(2))
            .map(|day| {
                zone.offset_from_utc_datetime(&day_start(day).naive_utc())
                    .fix()
            })
            .collect();
        let per_day = [
            schedule.hours().count(),
            schedule.minutes().count(),
            schedule.seconds().count(),
        ]
        .into_iter()
        .map(|n| n as usize)
        .product::<usize>();
        let just_before = |t: DateTime<Utc>| t - TimeDelta::nanoseconds(1);
        let mut counted_to = after;
        let mut count = 0;
        for (day, around) in first.iter_days().zip(offsets.windows(4)) {
            if count >= cap {
                return cap;
            }
            if around.iter().any(|offset| *offset != around[0]) {
                continue;
            }
            let start = just_before(day_start(day));
            if counted_to < start {
                count += self.step_through(counted_to, start, cap);
            }
            if matches(schedule, day) {
                count += per_day;
            }
            counted_to = just_before(day_start(day + TimeDelta::days(1)));
        }
        count + self.step_through(counted_to, until, cap)
    }
}

/// Whether a cron expression fires on a date at all (the `cron` crate asks
/// for the day of the month and the weekday both to match).
fn matches(schedule: &Schedule, day: NaiveDate) -> bool {
    schedule.years().includes(day.year() as u32)
        && schedule.months().includes(day.month())
        && schedule.days_of_month().includes(day.day())
        && schedule
            .days_of_week()
            .includes(day.weekday().number_from_sunday())
}
