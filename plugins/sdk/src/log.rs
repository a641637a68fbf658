//! Short forms for the run log, which is always available.
//!
//! The host caps a run's log, so actions log a line per page of work, not
//! per row.

use crate::bindings::b2b::plugin::log::{write, Level};

/// Appends an info line to the run log.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Appends a warning line to the run log.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}
