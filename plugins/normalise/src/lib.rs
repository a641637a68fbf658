//! When a held value "matches" an incoming one.
#![deny(missing_docs)]
//!
//! Schools and the LA write the same fact differently (`smith` / `SMITH`,
//! `sw1a 1aa` / `SW1A1AA`, `2014-09-01` / `01/09/2014`), so values are
//! compared by meaning, as the item's kind says. The host (deciding whether
//! an import raises a conflict) and the plugins (Clear Conflicts) share this
//! crate, so both sides agree on what "the same" means.

/// How values of a data item compare (the WIT `item-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A person's name: trimmed, case and repeated spaces ignored.
    Name,
    /// Free text: trimmed, repeated spaces ignored.
    Text,
    /// A code such as a UPN: trimmed, case ignored.
    Code,
    /// A UK postcode: spaces removed, upper-cased.
    Postcode,
    /// A calendar date in any common written form.
    Date,
    /// A yes/no flag.
    Flag,
}

/// A value reduced to what matters for its kind: equal keys mean the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// No value: none, or a blank string.
    Empty,
    /// Text as its kind compares it.
    Text(String),
    /// A calendar date as (year, month, day).
    Date(u32, u32, u32),
    /// A yes/no value.
    Flag(bool),
}

/// Whether `held` and `incoming` are the same value of an item of `kind`.
pub fn same(kind: ItemKind, held: Option<&str>, incoming: Option<&str>) -> bool {
    key(kind, held) == key(kind, incoming)
}

/// The comparison key of a value.
pub fn key(kind: ItemKind, value: Option<&str>) -> Key {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Key::Empty;
    }
    match kind {
        ItemKind::Name => Key::Text(collapse_whitespace(&value.to_lowercase())),
        ItemKind::Text => Key::Text(collapse_whitespace(value)),
        ItemKind::Code => Key::Text(value.to_lowercase()),
        ItemKind::Postcode => Key::Text(
            value
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase(),
        ),
        ItemKind::Date => match date(value) {
            Some((y, m, d)) => Key::Date(y, m, d),
            None => Key::Text(value.into()),
        },
        ItemKind::Flag => match value.to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "1" | "t" => Key::Flag(true),
            "no" | "n" | "false" | "0" | "f" => Key::Flag(false),
            _ => Key::Text(value.into()),
        },
    }
}

/// `value` with each run of whitespace made one space (it is already trimmed).
fn collapse_whitespace(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A calendar date written `YYYY-MM-DD` (optionally followed by a time after a
/// space or `T`) or `D/M/YYYY` (UK order, one- or two-digit day and month).
fn date(value: &str) -> Option<(u32, u32, u32)> {
    let (y, m, d) = if let Some((day, rest)) = value.split_once('/') {
        let (month, year) = rest.split_once('/')?;
        (
            digits(year, 4..=4)?,
            digits(month, 1..=2)?,
            digits(day, 1..=2)?,
        )
    } else {
        let (date, time) = match value.find([' ', 'T']) {
            Some(at) => (&value[..at], Some(&value[at + 1..])),
            None => (value, None),
        };
        // Only the date counts, but the rest must look like a time, so that
        // e.g. `2014-09-01 or later` is not taken for a date.
        if let Some(time) = time {
            let (hours, rest) = time.split_once(':')?;
            digits(hours, 2..=2)?;
            digits(rest.get(..2)?, 2..=2)?;
        }
        let mut parts = date.split('-');
        let ymd = (
            digits(parts.next()?, 4..=4)?,
            digits(parts.next()?, 2..=2)?,
            digits(parts.next()?, 2..=2)?,
        );
        if parts.next().is_some() {
            return None;
        }
        ymd
    };
    let real = (1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d);
    real.then_some((y, m, d))
}

/// `s` as a number if it is only ASCII digits, as many as `len` allows.
fn digits(s: &str, len: std::ops::RangeInclusive<usize>) -> Option<u32> {
    (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ItemKind::*;

    fn same_as(kind: ItemKind, a: &str, b: &str) -> bool {
        same(kind, Some(a), Some(b))
    }

    #[test]
    fn blanks_and_none() {
        assert!(same(Name, None, None));
        assert!(same(Date, None, Some("  ")));
        assert!(same(Code, Some(""), None));
        assert!(!same(Text, None, Some("x")));
        assert!(!same(Flag, Some("no"), None));
    }

    #[test]
    fn names_ignore_case_and_spacing() {
        assert!(same_as(Name, " Mary  Ann\tSMITH ", "mary ann smith"));
        assert!(!same_as(Name, "Mary-Ann", "Mary Ann"));
    }

    #[test]
    fn text_keeps_case() {
        assert!(same_as(Text, " a  b ", "a b"));
        assert!(!same_as(Text, "A b", "a b"));
    }

    #[test]
    fn codes_ignore_case_not_spacing() {
        assert!(same_as(Code, " a123 ", "A123"));
        assert!(!same_as(Code, "A 123", "A123"));
    }

    #[test]
    fn postcodes_ignore_all_spaces() {
        assert!(same_as(Postcode, "sw1a 1aa", " SW1A1AA"));
        assert!(same_as(Postcode, "SW1A  1 AA", "sw1a1aa"));
        assert!(!same_as(Postcode, "SW1A 1AB", "SW1A 1AA"));
    }

    #[test]
    fn dates_in_any_written_form() {
        for other in [
            "2014-09-01 00:00:00",
            "2014-09-01 13:45:12.123456",
            "2014-09-01T13:45:12Z",
            "01/09/2014",
            "1/9/2014",
            " 2014-09-01 ",
        ] {
            assert!(same_as(Date, "2014-09-01", other), "{other}");
        }
        assert!(!same_as(Date, "2014-09-01", "09/01/2014"));
        assert!(same_as(Date, "29/02/2016", "2016-02-29"));
    }

    #[test]
    fn unparseable_dates_compare_as_text() {
        for bad in [
            "2015-02-29",
            "31/04/2014",
            "2014-9-1",
            "1/9/14",
            "2014-09-01 soon",
            "001/09/2014",
            "2014-09-01-02",
            "unknown",
        ] {
            assert_eq!(date(bad), None, "{bad}");
        }
        assert!(same_as(Date, " unknown ", "unknown"));
        assert!(!same_as(Date, "Unknown", "unknown"));
        assert!(!same_as(Date, "2015-02-29", "01/03/2015"));
    }

    #[test]
    fn flags() {
        for yes in ["yes", "Y", "TRUE", "1", "t"] {
            assert!(same_as(Flag, yes, "true"), "{yes}");
        }
        for no in ["No", "n", "false", "0", "F"] {
            assert!(same_as(Flag, no, "false"), "{no}");
        }
        assert!(!same_as(Flag, "yes", "no"));
        assert!(same_as(Flag, " maybe ", "maybe"));
        assert!(!same_as(Flag, "Maybe", "maybe"));
    }
}
