//! Serde for wall-clock values that people type: times as `01:30` (whole
//! seconds 00 to 59 optional) and date-times as `2027-03-28T01:30` (a space
//! for the `T`, seconds optional, or a bare date for midnight). TOML's own
//! unquoted dates and times are accepted too. Values are written back in the
//! short form. Slots are whole seconds, so a fraction or a leap second
//! (`01:30:60`, which chrono would take) is refused rather than rounded.

use std::fmt;
use std::marker::PhantomData;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::de::{self, IgnoredAny, MapAccess, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serializer};

/// A wall-clock value with a lenient text form.
pub(super) trait Wall: Sized {
    /// What a person should write, for error messages.
    const EXPECTING: &'static str;
    fn read(text: &str) -> Option<Self>;
    fn write(&self) -> String;
}

impl Wall for NaiveTime {
    const EXPECTING: &'static str =
        "a time of day such as \"01:30\" or \"01:30:15\" (hours 00 to 23, minutes and whole seconds 00 to 59)";

    fn read(text: &str) -> Option<Self> {
        ["%H:%M:%S", "%H:%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(text, f).ok())
            .filter(|t| t.nanosecond() == 0)
    }

    /// `01:30`, with seconds only when there are some.
    fn write(&self) -> String {
        let format = if self.second() == 0 {
            "%H:%M"
        } else {
            "%H:%M:%S"
        };
        self.format(format).to_string()
    }
}

impl Wall for NaiveDateTime {
    const EXPECTING: &'static str =
        "a local date and time such as \"2027-03-28T01:30\", or a date such as \"2027-03-28\"";

    fn read(text: &str) -> Option<Self> {
        let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00"));
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        Some(date.and_time(NaiveTime::read(time)?))
    }

    fn write(&self) -> String {
        format!("{}T{}", self.date(), self.time().write())
    }
}

/// Writes the short text form (serde `with` for a plain field).
pub(super) fn serialize<T: Wall, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.write())
}

/// Reads the lenient text form (serde `with` for a plain field).
pub(super) fn deserialize<'de, T: Wall, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    Text::deserialize(deserializer).map(|Text(value)| value)
}

/// The serde `with` functions for an optional field.
pub(super) mod option {
    use super::*;

    pub(in super::super) fn serialize<T: Wall, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_some(&value.write()),
            None => serializer.serialize_none(),
        }
    }

    pub(in super::super) fn deserialize<'de, T: Wall, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        Option::<Text<T>>::deserialize(deserializer).map(|text| text.map(|Text(value)| value))
    }
}

/// A wall-clock value read from its text.
struct Text<T>(T);

impl<'de, T: Wall> Deserialize<'de> for Text<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `any`, not `str`: TOML hands its own date-times over as a map.
        deserializer
            .deserialize_any(TextVisitor(PhantomData))
            .map(Text)
    }
}

struct TextVisitor<T>(PhantomData<T>);

impl<'de, T: Wall> Visitor<'de> for TextVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        T::read(text.trim()).ok_or_else(|| E::invalid_value(Unexpected::Str(text), &self))
    }

    /// TOML's unquoted dates and times arrive as a one-entry map whose value
    /// is the text.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        match map.next_entry::<IgnoredAny, String>()? {
            Some((_, text)) => self.visit_str(&text),
            None => Err(de::Error::invalid_length(0, &self)),
        }
    }
}
