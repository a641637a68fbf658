//! Instants as the host stores and shows them: seconds since the Unix epoch.

use chrono::{DateTime, Utc};

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The current instant.
pub fn now() -> Timestamp {
    Utc::now().timestamp()
}

/// An instant as a person reads it, e.g. `2026-11-28 19:58:03 UTC`.
pub fn display(ts: Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ts} (out of range)"))
}

/// Whole days as seconds, for retention periods.
pub fn days(n: i64) -> i64 {
    n * 86_400
}
