//! When a scheduled task's triggers fire.
//!
//! A [`Trigger`] is what a person sets up on the LA screens or writes in a
//! task file, modelled on Windows Task Scheduler: once, daily every N days,
//! weekly on chosen days every N weeks, monthly on chosen days or the last
//! day, monthly on the first/.../last chosen weekday, a raw cron expression,
//! or each time the host starts; each with an optional repetition, a start,
//! an expiry, a random delay, and a switch to turn it off. It is stored as
//! JSON and written as TOML, so its fields are plain snake_case words (see
//! the module tests for the exact shapes).
//!
//! Triggers are evaluated on the task's local wall clock and then resolved to
//! UTC (docs/architecture.md, "Scheduling"): a time skipped when the clocks go forward runs
//! at the offset in force before the gap (01:30 on the spring-forward day
//! runs at 02:30 BST); a time that happens twice when the clocks go back runs
//! once, at its first occurrence. Repetitions are elapsed time, whatever
//! their length: every 90 minutes is 90 minutes apart through a clock change,
//! so its runs read differently on the wall clock afterwards. The `cron`
//! crate gets both changes wrong, so cron expressions are matched against
//! the naive wall clock and resolved here.

use chrono::{DateTime, NaiveDateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod check;
mod describe;
mod fire;
mod wall;

#[cfg(test)]
mod tests;

pub use fire::Plan;

/// The time zone of a task that does not name one.
pub const DEFAULT_ZONE: &str = "Europe/London";

/// When a task runs: the pattern ([`Kind`]) and what applies to every kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The pattern of days and times; its `kind` field names it.
    #[serde(flatten)]
    pub kind: Kind,
    /// Local wall-clock time before which it never fires; for `daily` and
    /// `weekly` every N > 1 it is also the day (or week) counting starts from.
    #[serde(
        default,
        with = "wall::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start: Option<NaiveDateTime>,
    /// Local wall-clock time after which it never fires (inclusive).
    #[serde(
        default,
        with = "wall::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry: Option<NaiveDateTime>,
    /// Runs again at intervals after each time the pattern fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    /// Each run starts up to this many minutes after its time, at random (so
    /// that many hosts do not call Wonde at the same moment); 0 for none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub random_delay_minutes: u32,
    /// Whether it fires; a task's other triggers go on when one is off.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub enabled: bool,
}

/// The pattern of a trigger. Times are local wall-clock times in the task's
/// zone; month numbers run 1 (January) to 12 (December), and a missing
/// `months` list means every month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Kind {
    /// Once, at a local date and time.
    Once {
        /// When it fires.
        #[serde(with = "wall")]
        at: NaiveDateTime,
    },
    /// Every N days, counted from the start date.
    Daily {
        /// N: 1 is every day; more than 1 needs a `start`.
        #[serde(default = "one")]
        every_days: u32,
        /// The time of day.
        #[serde(with = "wall")]
        at: NaiveTime,
    },
    /// On chosen weekdays of every Nth Monday-to-Sunday week, counted from
    /// the start date's week.
    Weekly {
        /// N: 1 is every week; more than 1 needs a `start`.
        #[serde(default = "one")]
        every_weeks: u32,
        /// The days, e.g. `["Mon", "Wed"]`.
        weekdays: Vec<Weekday>,
        /// The time of day.
        #[serde(with = "wall")]
        at: NaiveTime,
    },
    /// On chosen days of the month and/or its last day.
    Monthly {
        /// Days 1 to 31; a day a month lacks (31 in April) is skipped there.
        #[serde(default)]
        days: Vec<u32>,
        /// Also (or only) on the last day of each month.
        #[serde(default)]
        last_day: bool,
        /// The months it runs in; absent means all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        months: Option<Vec<u32>>,
        /// The time of day.
        #[serde(with = "wall")]
        at: NaiveTime,
    },
    /// On the first/second/third/fourth/last of chosen weekdays of a month.
    MonthlyWeekday {
        /// Which occurrences, e.g. `["first", "last"]`.
        weeks: Vec<WeekOfMonth>,
        /// The days, e.g. `["Fri"]`.
        weekdays: Vec<Weekday>,
        /// The months it runs in; absent means all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        months: Option<Vec<u32>>,
        /// The time of day.
        #[serde(with = "wall")]
        at: NaiveTime,
    },
    /// A raw expression in the `cron` crate's syntax, matched against the
    /// local wall clock: 6 or 7 fields, seconds first. Weekday numbers run
    /// 1 = Sunday to 7 = Saturday (Unix cron's 0 = Sunday is refused).
    Cron {
        /// E.g. `0 30 1 * * *` for 01:30 every day.
        expression: String,
    },
    /// Each time `b2b serve` starts serving the database (at start-up, or on
    /// taking over from a host that stopped).
    AtStartup,
}

/// Which occurrence of a weekday in its month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeekOfMonth {
    /// Days 1 to 7.
    First,
    /// Days 8 to 14.
    Second,
    /// Days 15 to 21.
    Third,
    /// Days 22 to 28.
    Fourth,
    /// The last seven days of the month.
    Last,
}

/// Repetition: from each time the pattern fires, again every
/// `every_minutes` of elapsed time (fixed in UTC, through clock changes),
/// for `for_minutes` with the end included (as in Windows, every 1 minute
/// for 4 minutes is 5 runs), or `indefinitely`: until the pattern fires
/// again, and for ever after a `once` trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// The interval, at least 1.
    pub every_minutes: u32,
    /// How long to keep repeating, at least `every_minutes`, at most 31
    /// days; absent when `indefinitely`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_minutes: Option<u32>,
    /// Repeat with no end of its own (instead of `for_minutes`).
    #[serde(default, skip_serializing_if = "is_no")]
    pub indefinitely: bool,
    /// Stop a run still going when the repetition's duration ends; a run
    /// would then start only to be stopped at the end itself, so there is none.
    #[serde(default, skip_serializing_if = "is_no")]
    pub stop_at_end: bool,
}

/// The serde default of `every_days` and `every_weeks`.
fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

fn is_no(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Reads an IANA time zone name such as `Europe/London`.
pub fn parse_zone(tz: &str) -> Result<Tz> {
    tz.parse().map_err(|_| {
        Error::invalid(format!(
            "unknown time zone `{tz}`; use an IANA name such as `{DEFAULT_ZONE}` or `America/New_York`"
        ))
    })
}

impl Trigger {
    /// Checks the trigger and the zone, saying what is wrong and what is
    /// allowed.
    pub fn validate(&self, tz: &str) -> Result<()> {
        self.plan(tz).map(drop)
    }

    /// The trigger's fire times in its zone, checked.
    pub fn plan(&self, tz: &str) -> Result<Plan<'_>> {
        Plan::new(self, tz)
    }

    /// The first fire time strictly after `after`, or `None` when it will
    /// never fire again (or not within about ten years). A trigger that is
    /// off still has fire times: the scheduler is what skips it.
    pub fn next_after(&self, tz: &str, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.plan(tz)?.next_after(after))
    }

    /// Up to `n` fire times strictly after `after`, earliest first.
    pub fn upcoming(&self, tz: &str, after: DateTime<Utc>, n: usize) -> Result<Vec<DateTime<Utc>>> {
        Ok(self.plan(tz)?.runs_after(after).take(n).collect())
    }

    /// What a person should know about the trigger that is not wrong with
    /// it (what numbered cron weekdays mean here).
    pub fn notes(&self) -> Vec<String> {
        match &self.kind {
            Kind::Cron { expression } => check::cron_weekday_note(expression).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Whether it fires when the host starts rather than at times.
    pub fn is_at_startup(&self) -> bool {
        self.kind == Kind::AtStartup
    }

    /// A one-line description for listings, e.g.
    /// "weekly on Mon, Wed every 2 weeks at 01:30 (Europe/London)".
    pub fn describe(&self, tz: &str) -> String {
        describe::trigger(self, tz)
    }
}
