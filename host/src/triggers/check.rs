//! Validation of a trigger's fields. Each message says what is wrong and
//! what is allowed, because people type these into task files.

use std::str::FromStr;

use chrono::Weekday;
use cron::{Schedule, TimeUnitSpec};

use super::{Kind, Repeat, Trigger, WeekOfMonth};
use crate::error::{Error, Result};

/// The longest repetition: a month covers any sensible "repeat within the
/// day" and bounds how far back a search must look for a run in progress.
/// It bounds a random delay too.
const MAX_REPEAT_MINUTES: u32 = 31 * 24 * 60;

impl Trigger {
    /// Checks every field; the zone is checked by the caller.
    pub(super) fn check(&self) -> Result<()> {
        self.kind.check(self.start.is_some())?;
        if let (Some(start), Some(expiry)) = (self.start, self.expiry) {
            if expiry < start {
                return Err(Error::invalid(format!(
                    "the expiry {expiry} is before the start {start}; the expiry must be at or after the start"
                )));
            }
        }
        if self.random_delay_minutes > MAX_REPEAT_MINUTES {
            return Err(Error::invalid(format!(
                "`random_delay_minutes` ({}) is more than {MAX_REPEAT_MINUTES} (31 days); \
                 give a delay shorter than the time between runs, e.g. 30",
                self.random_delay_minutes
            )));
        }
        match &self.repeat {
            Some(_) if self.is_at_startup() => Err(Error::invalid(
                "an `at_startup` trigger does not repeat; add a trigger with a pattern \
                 (e.g. daily) to repeat on",
            )),
            Some(repeat) => repeat.check(),
            None => Ok(()),
        }
    }
}

impl Kind {
    fn check(&self, has_start: bool) -> Result<()> {
        match self {
            Kind::Once { .. } | Kind::AtStartup => Ok(()),
            Kind::Daily { every_days, .. } => check_every("every_days", *every_days, has_start),
            Kind::Weekly {
                every_weeks,
                weekdays,
                ..
            } => {
                check_every("every_weeks", *every_weeks, has_start)?;
                check_weekdays(weekdays)
            }
            Kind::Monthly {
                days,
                last_day,
                months,
                ..
            } => {
                check_days(days, *last_day)?;
                check_months(months.as_deref())
            }
            Kind::MonthlyWeekday {
                weeks,
                weekdays,
                months,
                ..
            } => {
                check_weeks(weeks)?;
                check_weekdays(weekdays)?;
                check_months(months.as_deref())
            }
            Kind::Cron { expression } => parse_cron(expression).map(drop),
        }
    }
}

impl Repeat {
    fn check(&self) -> Result<()> {
        if self.every_minutes == 0 {
            return Err(Error::invalid(
                "`repeat.every_minutes` is 0; it must be at least 1, e.g. 30 for every half hour",
            ));
        }
        match (self.for_minutes, self.indefinitely) {
            (Some(_), true) => Err(Error::invalid(
                "`repeat` has both `for_minutes` and `indefinitely`; give one: a duration, \
                 or `indefinitely = true` to repeat until the pattern fires again",
            )),
            (None, false) => Err(Error::invalid(
                "`repeat` needs `for_minutes` (how long to repeat, e.g. 720 for 12 hours) \
                 or `indefinitely = true`",
            )),
            (None, true) if self.stop_at_end => Err(Error::invalid(
                "`repeat.stop_at_end` needs a duration to end at; an indefinite repetition has \
                 none, so give `for_minutes` instead of `indefinitely`",
            )),
            (None, true) => Ok(()),
            (Some(for_minutes), false) => self.check_duration(for_minutes),
        }
    }

    fn check_duration(&self, for_minutes: u32) -> Result<()> {
        let every_minutes = self.every_minutes;
        if for_minutes < every_minutes {
            return Err(Error::invalid(format!(
                "`repeat.for_minutes` ({for_minutes}) is shorter than `repeat.every_minutes` ({every_minutes}); \
                 it must be at least the interval, e.g. every 30 minutes for 720 minutes (12 hours)"
            )));
        }
        if for_minutes > MAX_REPEAT_MINUTES {
            return Err(Error::invalid(format!(
                "`repeat.for_minutes` ({for_minutes}) is more than {MAX_REPEAT_MINUTES} (31 days); \
                 repeat for at most 31 days, or `indefinitely = true`"
            )));
        }
        Ok(())
    }
}

/// Checks an "every N" count, which must be positive and, above 1, needs a
/// start to count from (otherwise "every 2 weeks" has no answer to "which").
fn check_every(field: &str, n: u32, has_start: bool) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(format!(
            "`{field}` is 0; it must be 1 or more (1 = every time)"
        )));
    }
    if n > 1 && !has_start {
        return Err(Error::invalid(format!(
            "`{field}` is {n} but there is no `start`; give a `start` date to count from"
        )));
    }
    Ok(())
}

fn check_weekdays(weekdays: &[Weekday]) -> Result<()> {
    if weekdays.is_empty() {
        return Err(Error::invalid(
            "`weekdays` is empty; list one or more of Mon, Tue, Wed, Thu, Fri, Sat, Sun",
        ));
    }
    Ok(())
}

fn check_weeks(weeks: &[WeekOfMonth]) -> Result<()> {
    if weeks.is_empty() {
        return Err(Error::invalid(
            "`weeks` is empty; list one or more of first, second, third, fourth, last",
        ));
    }
    Ok(())
}

fn check_days(days: &[u32], last_day: bool) -> Result<()> {
    if days.is_empty() && !last_day {
        return Err(Error::invalid(
            "a monthly trigger needs `days` (1 to 31) and/or `last_day = true`",
        ));
    }
    match days.iter().find(|d| !(1..=31).contains(*d)) {
        Some(day) => Err(Error::invalid(format!(
            "day {day} is not a day of the month; use 1 to 31 (a day a month lacks is skipped \
             that month) or `last_day = true`"
        ))),
        None => Ok(()),
    }
}

fn check_months(months: Option<&[u32]>) -> Result<()> {
    let Some(months) = months else { return Ok(()) };
    if months.is_empty() {
        return Err(Error::invalid(
            "`months` is empty; leave it out for every month, or list months as 1 (January) to 12 (December)",
        ));
    }
    match months.iter().find(|m| !(1..=12).contains(*m)) {
        Some(month) => Err(Error::invalid(format!(
            "month {month} is not a month; use 1 (January) to 12 (December)"
        ))),
        None => Ok(()),
    }
}

/// Parses a cron expression, explaining the expected format on failure
/// (people often bring 5-field Unix crontab lines, which lack seconds, or
/// Quartz's `L`, `W` and `#`). A task runs at most once a minute:
/// `* * * * * *`, a 5-field "every minute" with a field added, means every
/// second.
pub(super) fn parse_cron(expression: &str) -> Result<Schedule> {
    refuse_unsupported(expression)?;
    let schedule = Schedule::from_str(expression).map_err(|e| {
        Error::invalid(format!(
            "`{expression}` is not a valid cron expression: {}; use 6 or 7 fields, seconds first, \
             e.g. `0 30 1 * * *` for 01:30 every day",
            cron_reason(expression, &e.to_string())
        ))
    })?;
    if schedule.seconds().count() > 1 {
        return Err(Error::invalid(format!(
            "`{expression}` runs more than once a minute (its first field is the seconds); tasks \
             run at most once a minute, so give one second, e.g. `0 * * * * *` for every minute"
        )));
    }
    Ok(schedule)
}

/// The day-of-month and day-of-week fields (seconds come first).
const DAY_FIELDS: [usize; 2] = [3, 5];
const WEEKDAY_FIELD: usize = 5;

/// Refuses what the `cron` crate would misread or reject without saying why:
/// Quartz's `L`, `W` and `#`, and Unix cron's 0 for Sunday.
fn refuse_unsupported(expression: &str) -> Result<()> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    for index in DAY_FIELDS {
        let parts = fields.get(index).map_or("", |f| f).split(',');
        if let Some(what) = parts.filter_map(quartz_only).next() {
            return Err(Error::invalid(format!(
                "`{expression}` uses {what}, which is not supported in cron expressions here; \
                 use a monthly trigger instead: `--monthly last@HH:MM` for the last day, \
                 `--monthly-weekday last:Fri@HH:MM` or `first,third:Mon@HH:MM` for chosen weekdays"
            )));
        }
    }
    let weekdays = fields.get(WEEKDAY_FIELD).map_or("", |f| f);
    if weekday_numbers(weekdays).any(|n| n == "0") {
        return Err(Error::invalid(format!(
            "`{expression}` uses 0 for a weekday; here weekdays run 1 = Sunday to 7 = Saturday \
             (the `cron` crate's numbering, not Unix cron's 0 = Sunday): write `Sun` or `1`, \
             and names such as `Mon-Fri` rather than numbers"
        )));
    }
    Ok(())
}

/// What a part of a day field means in Quartz when the `cron` crate cannot
/// read it: `L` (last), `15W` (nearest weekday), `6#3` (third Friday).
fn quartz_only(part: &str) -> Option<&'static str> {
    let part = part.to_ascii_uppercase();
    let before = |suffix: char| part.strip_suffix(suffix).map(str::to_owned);
    let numbered = |rest: Option<String>| {
        rest.is_some_and(|r| r.is_empty() || r == "L" || r.chars().all(|c| c.is_ascii_digit()))
    };
    if part.contains('#') {
        Some("`#` (the nth weekday of the month)")
    } else if numbered(before('W')) {
        Some("`W` (the nearest weekday)")
    } else if numbered(before('L')) {
        Some("`L` (the last day or weekday of the month)")
    } else {
        None
    }
}

/// The numbers written in a day-of-week field (not its step sizes).
fn weekday_numbers(field: &str) -> impl Iterator<Item = &str> {
    field
        .split(',')
        .filter_map(|part| part.split('/').next())
        .flat_map(|range| range.split('-'))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// A reminder, for a cron expression that numbers its weekdays, of what the
/// numbers mean here (1 = Sunday), e.g. "`2-6` is Mon, Tue, Wed, Thu, Fri".
pub(super) fn cron_weekday_note(expression: &str) -> Option<String> {
    let field = *expression
        .split_whitespace()
        .collect::<Vec<_>>()
        .get(WEEKDAY_FIELD)?;
    weekday_numbers(field).next()?;
    let schedule = Schedule::from_str(expression).ok()?;
    const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let days: Vec<&str> = schedule
        .days_of_week()
        .iter()
        .filter_map(|n| NAMES.get((n as usize).checked_sub(1)?).copied())
        .collect();
    Some(format!(
        "in `{expression}` the weekdays `{field}` are {}: cron weekday numbers here run \
         1 = Sunday to 7 = Saturday, one more than Unix cron's; names (Mon-Fri) avoid the doubt",
        days.join(", ")
    ))
}

/// The useful part of a `cron` error, which echoes the expression and a
/// caret line before its message (and often has no message at all).
fn cron_reason(expression: &str, error: &str) -> String {
    let message: Vec<&str> = error
        .lines()
        .skip_while(|line| !line.trim_start().starts_with('^'))
        .skip(1)
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let fields = expression.split_whitespace().count();
    match (message.is_empty(), fields) {
        (false, _) => message.join(" "),
        (true, 6 | 7) => "it could not be read".to_owned(),
        (true, _) => format!("it has {fields} fields"),
    }
}
