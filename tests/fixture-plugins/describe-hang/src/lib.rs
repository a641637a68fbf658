//! Test fixture: `describe` computes forever, so a test can check that
//! installing, inspecting or running it ends with a clear message instead
//! of hanging the host.

use b2b_plugin_sdk::{Descriptor, Error, Guest, Report};

struct DescribeHang;

impl Guest for DescribeHang {
    fn describe() -> Descriptor {
        fixture_support::compute_forever()
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        Ok(fixture_support::nothing_done(
            "a plugin that cannot describe itself ran",
        ))
    }
}

b2b_plugin_sdk::export!(DescribeHang);
