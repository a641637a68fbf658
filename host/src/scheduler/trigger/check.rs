//! Validation of a trigger's fields. Each message says what is wrong and
//! what is allowed, because people type these into task files.

use std::str::FromStr;

use chrono::Weekday;
use cron::{Schedule, TimeUnitSpec};

use super::{Kind, Repeat, Trigger, WeekOfMonth};
use crate::error::{Error, Result};

/// The longest repetition: a month covers any sensible "repeat within the
/// day" and bounds how far back a search must look for a run in progress.
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
        self.repeat.as_ref().map_or(Ok(()), Repeat::check)
    }
}

impl Kind {
    fn check(&self, has_start: bool) -> Result<()> {
        match self {
            Kind::Once { .. } => Ok(()),
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
        let Repeat {
            every_minutes,
            for_minutes,
        } = *self;
        if every_minutes == 0 {
            return Err(Error::invalid(
                "`repeat.every_minutes` is 0; it must be at least 1, e.g. 30 for every half hour",
            ));
        }
        if for_minutes < every_minutes {
            return Err(Error::invalid(format!(
                "`repeat.for_minutes` ({for_minutes}) is shorter than `repeat.every_minutes` ({every_minutes}); \
                 it must be at least the interval, e.g. every 30 minutes for 720 minutes (12 hours)"
            )));
        }
        if for_minutes > MAX_REPEAT_MINUTES {
            return Err(Error::invalid(format!(
                "`repeat.for_minutes` ({for_minutes}) is more than {MAX_REPEAT_MINUTES} (31 days); \
                 repeat for at most 31 days, or use a `cron` trigger for a standing interval"
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
/// (people often bring 5-field Unix crontab lines, which lack seconds).
/// A task runs at most once a minute: `* * * * * *`, a 5-field "every
/// minute" with a field added, means every second.
pub(super) fn parse_cron(expression: &str) -> Result<Schedule> {
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
