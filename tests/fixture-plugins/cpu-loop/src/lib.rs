//! Test fixture: changes data, then never returns, so that a test can check
//! that the host interrupts a run that computes forever and rolls back what it
//! changed.

use b2b_plugin_sdk::{descriptor, Descriptor, Error, Guest, Report};

struct CpuLoop;

impl Guest for CpuLoop {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), Vec::new())
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        fixture_support::clear_every_open_conflict()?;
        fixture_support::compute_forever()
    }
}

b2b_plugin_sdk::export!(CpuLoop);
