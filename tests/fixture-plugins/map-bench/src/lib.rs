//! Test fixture: maps one stored page of Wonde students `iterations` times
//! with the code the Wonde import runs, so that `tests/benches/mapping.rs`
//! can time that code compiled to wasm and compare it with the same code
//! compiled natively. It needs no capabilities: the page is built in.

use b2b_plugin_sdk::{descriptor, params, Descriptor, Error, Guest, Report};
use std::hint::black_box;

/// The page the native side of the benchmark maps too.
const PAGE: &[u8] = include_bytes!("../../../fixtures/wonde-students-page.json");
const ITERATIONS: &str = "iterations";
const DEFAULT_ITERATIONS: u32 = 100;

struct MapBench;

impl Guest for MapBench {
    fn describe() -> Descriptor {
        let default = DEFAULT_ITERATIONS.to_string();
        let iterations = params::spec(ITERATIONS, "how many times to map the page", Some(&default));
        descriptor(include_str!("../plugin.toml"), vec![iterations])
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let iterations =
            params::non_negative_int(&params, ITERATIONS)?.unwrap_or(DEFAULT_ITERATIONS);
        let mut mapped = 0;
        for _ in 0..iterations {
            // `black_box` keeps the optimiser from mapping the page once.
            let page = wonde_map::students_page(black_box(PAGE))
                .map_err(|e| Error::Failed(format!("the stored page does not map: {e}")))?;
            mapped += black_box(page).records.len() as u64;
        }
        Ok(Report {
            examined: mapped,
            changed: 0,
            skipped: 0,
            summary: format!("mapped the page {iterations} times"),
        })
    }
}

b2b_plugin_sdk::export!(MapBench);
