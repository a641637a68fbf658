//! Test fixture: changes data, then never returns, so that a test can check
//! that the host interrupts a run that computes forever and rolls back what it
//! changed.

use std::hint::black_box;

use b2b_plugin_sdk::{descriptor, Descriptor, Error, Guest, Report};

struct CpuLoop;

impl Guest for CpuLoop {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), Vec::new())
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        fixture_support::clear_every_open_conflict()?;
        let mut state = 1u64;
        loop {
            // `black_box` keeps the optimiser from proving the loop pointless.
            state = black_box(
                state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1),
            );
        }
    }
}

b2b_plugin_sdk::export!(CpuLoop);
