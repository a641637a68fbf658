//! Test fixture: changes data, then allocates without bound, so that a test
//! can check that the host's memory limit stops the run and rolls back what it
//! changed.

use std::hint::black_box;

use b2b_plugin_sdk::{descriptor, Descriptor, Error, Guest, Report};

/// Each allocation: 1 MiB.
const CHUNK: usize = 1 << 20;

struct MemoryBomb;

impl Guest for MemoryBomb {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), Vec::new())
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        fixture_support::clear_every_open_conflict()?;
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Filled with a non-zero byte so every page is really written.
            hoard.push(vec![0xA5; CHUNK]);
            black_box(&hoard);
        }
    }
}

b2b_plugin_sdk::export!(MemoryBomb);
