//! Fire times: the pattern's wall-clock times resolved to UTC instants, and
//! the runs each of those starts (itself and its repetitions).
//!
//! Resolution is not monotonic (a time in a spring-forward gap resolves later
//! than some times just after the gap), but no wall-clock time resolves more
//! than [`SLACK`] away from its digits read as UTC. So [`Starts`] puts the
//! pattern's times in order through a small heap that holds each until no
//! later wall-clock time can resolve before it, and searches backwards stop
//! once nothing further back can beat what they found. Repetitions step in
//! UTC from each start; [`Runs`] merges overlapping repetitions in order,
//! each instant once. Everything is lazy: the next run and the last run
//! before an instant cost what they look at, not what lies between the
//! trigger's start and now; how many runs fell between two instants is
//! mostly worked out by arithmetic ([`count`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::iter::Peekable;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::{GapInfo, Tz};
use cron::Schedule;

use super::check::parse_cron;
use super::{parse_zone, Kind, Repeat, Trigger, WeekOfMonth};
use crate::error::Result;

mod count;

/// Every zone's UTC offset is under a day, so a wall-clock time resolves to
/// an instant less than a day from the same digits read as UTC. This bounds
/// every search below.
const SLACK: TimeDelta = TimeDelta::days(1);

/// How far ahead (or back) to look before deciding a trigger has no run.
const HORIZON: TimeDelta = TimeDelta::days(3653);

/// A validated trigger, ready to compute fire times in its zone.
pub struct Plan<'a> {
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
    /// No times: the host's start-up is the slot.
    Startup,
}

/// Wall-clock times in order (ascending or descending).
type Times<'p> = Box<dyn Iterator<Item = NaiveDateTime> + 'p>;

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
            Kind::AtStartup => Source::Startup,
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

    /// The runs strictly after `after`, earliest first, each instant once.
    pub fn runs_after(&self, after: DateTime<Utc>) -> Runs<'_, 'a> {
        let after = self.not_before_start(after);
        Runs {
            plan: self,
            starts: self.starts_reaching(after).peekable(),
            after,
            queue: BinaryHeap::new(),
            last: None,
            done: false,
        }
    }

    /// Whether `at` lies within the trigger's start and expiry.
    pub fn allows(&self, at: DateTime<Utc>) -> bool {
        self.start.is_none_or(|start| at >= start) && self.expiry.is_none_or(|expiry| at <= expiry)
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.runs_after(after).next()
    }

    /// The last run at or before `at`.
    pub fn last_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = self.expiry.map_or(at, |expiry| expiry.min(at));
        let run = match self.repeat() {
            None => self.last_start_at_or_before(at),
            Some(r) if r.indefinitely => {
                // Indefinite repetitions end where the next start begins, so
                // the last run is the latest start's.
                let start = self.last_start_at_or_before(at)?;
                Some(step_at_or_before(start, r, at, None))
            }
            Some(r) => self.latest(at, self.span(), |start| {
                Some(step_at_or_before(start, r, at, Some(last_step(r))))
            }),
        };
        run.filter(|run| self.start.is_none_or(|start| *run >= start))
    }

    /// When the repetition that `run` belongs to ends, for a trigger whose
    /// runs stop there (`stop_at_end`); the latest end where repetitions
    /// overlap.
    pub fn repetition_end(&self, run: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let repeat = self.repeat().filter(|r| r.stop_at_end)?;
        let every = minutes(repeat.every_minutes);
        let span = self.span();
        self.latest(run, span, |start| {
            let offset = run - start;
            let on_step = offset < span && (offset.num_seconds() % every.num_seconds()) == 0;
            on_step.then_some(start + span)
        })
    }

    /// When the trigger stops for good, if it does: its expiry, or the last
    /// run of a `once` trigger that repeats for a while or not at all.
    pub fn ends(&self) -> Option<DateTime<Utc>> {
        if self.expiry.is_some() {
            return self.expiry;
        }
        match (&self.source, self.repeat()) {
            (Source::Once(at), None) => Some(resolve(self.zone, *at)),
            (Source::Once(at), Some(r)) if !r.indefinitely => {
                let start = resolve(self.zone, *at);
                Some(start + minutes(r.every_minutes) * last_step(r) as i32)
            }
            _ => None,
        }
    }

    fn repeat(&self) -> Option<Repeat> {
        self.trigger.repeat
    }

    /// How long a repetition runs after its start (zero for none and for
    /// indefinite ones, whose end is the next start).
    fn span(&self) -> TimeDelta {
        minutes(self.repeat().and_then(|r| r.for_minutes).unwrap_or(0))
    }

    /// `after`, or just before the trigger's start if that is later.
    fn not_before_start(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        match self.start {
            Some(start) if start > after => start - TimeDelta::nanoseconds(1),
            _ => after,
        }
    }

    /// The starts whose runs may come after `after`: a repetition may have
    /// begun before it.
    fn starts_reaching(&self, after: DateTime<Utc>) -> Starts<'_> {
        let first = match self.repeat() {
            Some(r) if r.indefinitely => self.last_start_at_or_before(after).unwrap_or(after),
            _ => after - self.span(),
        };
        self.starts(first.naive_utc() - SLACK, after.naive_utc() + HORIZON)
    }

    /// The pattern's starts from the wall-clock time `from` to `until`,
    /// resolved, in order, each instant once.
    fn starts(&self, from: NaiveDateTime, until: NaiveDateTime) -> Starts<'_> {
        Starts {
            zone: self.zone,
            wall: self.forward(from, until).peekable(),
            pending: BinaryHeap::new(),
            last: None,
        }
    }

    /// The latest start at or before `at`.
    fn last_start_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.latest(at, TimeDelta::zero(), Some)
    }

    /// The latest `candidate(start)` over the starts at or before `at`,
    /// where a candidate is never more than `reach` after its start.
    fn latest(
        &self,
        at: DateTime<Utc>,
        reach: TimeDelta,
        mut candidate: impl FnMut(DateTime<Utc>) -> Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let from = at.naive_utc() + SLACK;
        let mut best: Option<DateTime<Utc>> = None;
        for time in self.backward(from, from - HORIZON - reach) {
            // Nothing this early or earlier can resolve after the best.
            if best.is_some_and(|b| time + SLACK + reach < b.naive_utc()) {
                break;
            }
            let start = resolve(self.zone, time);
            if start <= at {
                best = best.into_iter().chain(candidate(start)).max();
            }
        }
        best
    }

    /// The pattern's wall-clock times from `from` up to `until`, in order.
    fn forward(&self, from: NaiveDateTime, until: NaiveDateTime) -> Times<'_> {
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
                let days = from
                    .date()
                    .iter_days()
                    .take_while(move |d| *d <= until.date());
                self.on_days(days, *at)
            }
            Source::Startup => Box::new(std::iter::empty()),
        }
    }

    /// The pattern's wall-clock times from `from` back to `until`, latest first.
    fn backward(&self, from: NaiveDateTime, until: NaiveDateTime) -> Times<'_> {
        match &self.source {
            Source::Once(at) => Box::new(std::iter::once(*at)),
            Source::Cron(schedule) => Box::new(
                schedule
                    .after(&from.and_utc())
                    .rev()
                    .map(|t| t.naive_utc())
                    .take_while(move |t| *t >= until),
            ),
            Source::Days(at) => {
                let days = std::iter::successors(Some(from.date()), NaiveDate::pred_opt)
                    .take_while(move |d| *d >= until.date());
                self.on_days(days, *at)
            }
            Source::Startup => Box::new(std::iter::empty()),
        }
    }

    /// The time `at` on each of `days` the pattern matches.
    fn on_days(&self, days: impl Iterator<Item = NaiveDate> + 'a, at: NaiveTime) -> Times<'a> {
        let trigger: &'a Trigger = self.trigger;
        let anchor = trigger.start.map(|s| s.date());
        let kind = &trigger.kind;
        Box::new(
            days.filter(move |d| kind.fires_on(*d, anchor))
                .map(move |d| d.and_time(at)),
        )
    }
}

/// The pattern's starts in order: wall-clock times wait in a heap until no
/// later one can resolve before them.
struct Starts<'p> {
    zone: Tz,
    wall: Peekable<Times<'p>>,
    pending: BinaryHeap<Reverse<DateTime<Utc>>>,
    last: Option<DateTime<Utc>>,
}

impl Iterator for Starts<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            while let Some(time) = self.wall.peek() {
                let settled = self
                    .pending
                    .peek()
                    .is_some_and(|Reverse(first)| *time - SLACK > first.naive_utc());
                if settled {
                    break;
                }
                let time = *time;
                self.wall.next();
                self.pending.push(Reverse(resolve(self.zone, time)));
            }
            let Reverse(start) = self.pending.pop()?;
            // Two wall-clock times in a gap can resolve to one instant.
            if self.last.is_none_or(|last| start > last) {
                self.last = Some(start);
                return Some(start);
            }
        }
    }
}

/// A repetition in progress: its next run and its last allowed one (none
/// for one with no end).
type Repetition = (DateTime<Utc>, Option<DateTime<Utc>>);

/// A trigger's runs after an instant, in order, each instant once: the
/// starts and their repetitions merged.
pub struct Runs<'p, 'a> {
    plan: &'p Plan<'a>,
    starts: Peekable<Starts<'p>>,
    after: DateTime<Utc>,
    queue: BinaryHeap<Reverse<Repetition>>,
    last: Option<DateTime<Utc>>,
    done: bool,
}

impl Runs<'_, '_> {
    /// Queues the repetition that begins at `start` from its first run after
    /// `after` (or the start alone when the trigger does not repeat).
    fn begin(&mut self, start: DateTime<Utc>) {
        let Some(repeat) = self.plan.repeat() else {
            if start > self.after {
                self.queue.push(Reverse((start, Some(start))));
            }
            return;
        };
        let end = if repeat.indefinitely {
            // Until the next start, where the next repetition takes over.
            let next = self.starts.peek();
            next.map(|next| *next - TimeDelta::nanoseconds(1))
        } else {
            Some(start + minutes(repeat.every_minutes) * last_step(repeat) as i32)
        };
        let first = step_after(start, repeat, self.after);
        if end.is_none_or(|end| first <= end) {
            self.queue.push(Reverse((first, end)));
        }
    }
}

impl Iterator for Runs<'_, '_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        while !self.done {
            // Starts that may come before the earliest queued run join first.
            while let Some(start) = self.starts.peek() {
                if self
                    .queue
                    .peek()
                    .is_some_and(|Reverse((run, _))| run < start)
                {
                    break;
                }
                let start = *start;
                self.starts.next();
                self.begin(start);
            }
            let Reverse((run, end)) = self.queue.pop()?;
            if let Some(repeat) = self.plan.repeat() {
                let step = run + minutes(repeat.every_minutes);
                if end.is_none_or(|end| step <= end) {
                    self.queue.push(Reverse((step, end)));
                }
            }
            if self.last.is_some_and(|last| run <= last) {
                continue;
            }
            self.last = Some(run);
            if self.plan.expiry.is_some_and(|expiry| run > expiry) {
                self.done = true;
            } else if self.plan.start.is_none_or(|start| run >= start) {
                return Some(run);
            }
        }
        None
    }
}

fn minutes(n: u32) -> TimeDelta {
    TimeDelta::minutes(n.into())
}

/// The number of the last step of a repetition with a duration: the end is
/// included, unless runs stop there (a run starting at the end would be
/// stopped at once).
fn last_step(repeat: Repeat) -> u32 {
    let span = repeat.for_minutes.unwrap_or(0);
    let steps = span / repeat.every_minutes;
    if repeat.stop_at_end && span.is_multiple_of(repeat.every_minutes) {
        steps.saturating_sub(1)
    } else {
        steps
    }
}

/// The first step of the repetition from `start` strictly after `after`.
fn step_after(start: DateTime<Utc>, repeat: Repeat, after: DateTime<Utc>) -> DateTime<Utc> {
    if start > after {
        return start;
    }
    let every = minutes(repeat.every_minutes);
    let k = (after - start).num_seconds() / every.num_seconds() + 1;
    start + every * k as i32
}

/// The last step of the repetition from `start` (at or before `at`, which
/// is not before it), no later than step number `limit`.
fn step_at_or_before(
    start: DateTime<Utc>,
    repeat: Repeat,
    at: DateTime<Utc>,
    limit: Option<u32>,
) -> DateTime<Utc> {
    let every = minutes(repeat.every_minutes);
    let k = (at - start).num_seconds() / every.num_seconds();
    let k = limit.map_or(k, |limit| k.min(limit.into()));
    start + every * k as i32
}

/// The instant a wall-clock time runs at (docs/architecture.md, "Scheduling"): the time
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
    /// that "every N days/weeks" counts from. `once`, `cron` and
    /// `at_startup` produce their times otherwise and match no date here.
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
            Kind::Once { .. } | Kind::Cron { .. } | Kind::AtStartup => false,
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
