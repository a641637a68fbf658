//! One-line descriptions of triggers for listings, in the words of the LA
//! screens. They never fail: an invalid trigger is described as written.

use std::fmt::Display;

use chrono::{NaiveDateTime, NaiveTime};

use super::wall::Wall;
use super::{Kind, Trigger, WeekOfMonth};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// E.g. "weekly on Mon, Wed every 2 weeks at 01:30, from 2027-01-04 00:00 (Europe/London)".
pub(super) fn trigger(trigger: &Trigger, tz: &str) -> String {
    let mut parts = vec![pattern(&trigger.kind)];
    if let Some(repeat) = trigger.repeat {
        let span = match repeat.for_minutes {
            Some(minutes) => format!("for {}", duration(minutes)),
            None => "indefinitely".to_owned(),
        };
        let stop = if repeat.stop_at_end {
            " (runs stopped at the end)"
        } else {
            ""
        };
        parts.push(format!(
            "repeating every {} {span}{stop}",
            duration(repeat.every_minutes)
        ));
    }
    if trigger.random_delay_minutes > 0 {
        parts.push(format!(
            "delayed at random by up to {}",
            duration(trigger.random_delay_minutes)
        ));
    }
    if let Some(start) = trigger.start {
        parts.push(format!("from {}", date_time(start)));
    }
    if let Some(expiry) = trigger.expiry {
        parts.push(format!("until {}", date_time(expiry)));
    }
    let off = if trigger.enabled { "" } else { " [off]" };
    format!("{} ({tz}){off}", parts.join(", "))
}

fn pattern(kind: &Kind) -> String {
    match kind {
        Kind::Once { at } => format!("once at {}", date_time(*at)),
        Kind::Daily { every_days: 1, at } => format!("daily at {}", clock(*at)),
        Kind::Daily { every_days, at } => format!("every {every_days} days at {}", clock(*at)),
        Kind::Weekly {
            every_weeks,
            weekdays,
            at,
        } => {
            let every = match every_weeks {
                1 => String::new(),
                n => format!(" every {n} weeks"),
            };
            format!("weekly on {}{every} at {}", list(weekdays), clock(*at))
        }
        Kind::Monthly {
            days,
            last_day,
            months,
            at,
        } => format!(
            "monthly on {}{} at {}",
            month_days(days, *last_day),
            in_months(months.as_deref()),
            clock(*at)
        ),
        Kind::MonthlyWeekday {
            weeks,
            weekdays,
            months,
            at,
        } => format!(
            "monthly on the {} {}{} at {}",
            list(weeks.iter().map(|w| ordinal(*w))),
            list(weekdays),
            in_months(months.as_deref()),
            clock(*at)
        ),
        Kind::Cron { expression } => format!("cron `{expression}`"),
        Kind::AtStartup => "when the host starts".to_owned(),
    }
}

fn month_days(days: &[u32], last_day: bool) -> String {
    let days = match days {
        [] => String::new(),
        [day] => format!("day {day}"),
        days => format!("days {}", list(days)),
    };
    match (days.is_empty(), last_day) {
        (_, false) => days,
        (true, true) => "the last day".to_owned(),
        (false, true) => format!("{days} and the last day"),
    }
}

fn in_months(months: Option<&[u32]>) -> String {
    let name = |m: &u32| {
        let known = (*m as usize).checked_sub(1).and_then(|i| MONTHS.get(i));
        known.map_or_else(|| format!("month {m}"), |name| (*name).to_owned())
    };
    months.map_or_else(String::new, |m| format!(" in {}", list(m.iter().map(name))))
}

fn ordinal(week: WeekOfMonth) -> &'static str {
    match week {
        WeekOfMonth::First => "first",
        WeekOfMonth::Second => "second",
        WeekOfMonth::Third => "third",
        WeekOfMonth::Fourth => "fourth",
        WeekOfMonth::Last => "last",
    }
}

/// Minutes in the largest whole unit, e.g. "30 minutes", "12 hours", "1 day".
fn duration(minutes: u32) -> String {
    let (n, unit) = match minutes {
        m if m > 0 && m % 1440 == 0 => (m / 1440, "day"),
        m if m > 0 && m % 60 == 0 => (m / 60, "hour"),
        m => (m, "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn clock(time: NaiveTime) -> String {
    time.write()
}

fn date_time(time: NaiveDateTime) -> String {
    format!("{} {}", time.date(), clock(time.time()))
}

fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
