//! Test fixture: `describe` returns a 8 MiB description, so a test can
//! check that the host refuses to hold (and store, and print) it.

use b2b_plugin_sdk::{descriptor, Descriptor, Error, Guest, Report};

struct DescribeBloat;

impl Guest for DescribeBloat {
    fn describe() -> Descriptor {
        let mut d = descriptor(include_str!("../plugin.toml"), Vec::new());
        d.description = "x".repeat(8 << 20);
        d
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        Ok(fixture_support::nothing_done("a bloated plugin ran"))
    }
}

b2b_plugin_sdk::export!(DescribeBloat);
