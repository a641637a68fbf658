//! Test fixture: sleeps through WASI (optionally after staging writes), so a
//! test can check that the deadline and a stop hold while a plugin waits in
//! the host, that a sleeping run blocks no other writer, and what the WASI
//! clocks show a plugin.

use b2b_plugin_sdk::{descriptor, params, settings, Descriptor, Error, Guest, Report};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Sleeper;

impl Guest for Sleeper {
    fn describe() -> Descriptor {
        descriptor(
            include_str!("../plugin.toml"),
            vec![
                params::spec("secs", "How long to sleep, in seconds", Some("60")),
                params::spec("write", "Clear every open conflict first", Some("false")),
            ],
        )
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        if params::bool(&params, "write", false)? {
            fixture_support::clear_every_open_conflict()?;
        }
        let secs = params::non_negative_int(&params, "secs")?.unwrap_or(60);
        let wall = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let (wall_before, monotonic) = (wall(), Instant::now());
        std::thread::sleep(Duration::from_secs(u64::from(secs)));
        Ok(fixture_support::nothing_done(&format!(
            "slept {secs} s; wall clock {wall_before} then {}; monotonic clock moved {} ms; run started at {}",
            wall(),
            monotonic.elapsed().as_millis(),
            settings::run_started_at()
        )))
    }
}

b2b_plugin_sdk::export!(Sleeper);
