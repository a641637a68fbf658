//! Test fixture: an action that does nothing, so that a test can measure what
//! a run itself costs (instantiation, calls, bookkeeping).

use b2b_plugin_sdk::{descriptor, Descriptor, Error, Guest, Report};

struct Noop;

impl Guest for Noop {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), Vec::new())
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        Ok(fixture_support::nothing_done("nothing to do"))
    }
}

b2b_plugin_sdk::export!(Noop);
