//! Test fixture: changes data it may change, then calls an interface it was
//! not granted, so that a test can check that the host denies the call and,
//! as the run then fails, rolls back the change.

use b2b_plugin_sdk::{conflicts, descriptor, files, pages, Descriptor, Error, Guest, Report};

struct Overreach;

impl Guest for Overreach {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), Vec::new())
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        for page in pages(files::list) {
            let ids: Vec<i64> = page?.iter().map(|file| file.id).collect();
            files::delete_payloads(&ids)?;
        }
        // Needs `conflicts:read`, which the manifest does not ask for: the
        // host's `denied` error becomes the run's error.
        conflicts::list_open(0, 10)?;
        Ok(fixture_support::nothing_done(
            "the host let this plugin read conflicts without conflicts:read",
        ))
    }
}

b2b_plugin_sdk::export!(Overreach);
