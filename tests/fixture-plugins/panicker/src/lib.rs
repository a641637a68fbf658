//! Test fixture: changes data, then panics (a trap on wasm), so that a test can
//! check that the host reports the failure and rolls back what it changed.

use b2b_plugin_sdk::{descriptor, Descriptor, Error, Guest, Report};

struct Panicker;

impl Guest for Panicker {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), Vec::new())
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        fixture_support::clear_every_open_conflict()?;
        panic!("fixture panic: something went wrong");
    }
}

b2b_plugin_sdk::export!(Panicker);
