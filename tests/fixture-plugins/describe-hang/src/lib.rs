//! Test fixture: `describe` computes forever, so a test can check that
//! installing, inspecting or running it ends with a clear message instead
//! of hanging the host.

use b2b_plugin_sdk::{Descriptor, Error, Guest, Report};
use std::hint::black_box;

struct DescribeHang;

impl Guest for DescribeHang {
    fn describe() -> Descriptor {
        let mut state = 1u64;
        loop {
            state = black_box(
                state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1),
            );
        }
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        Ok(fixture_support::nothing_done(
            "a plugin that cannot describe itself ran",
        ))
    }
}

b2b_plugin_sdk::export!(DescribeHang);
