//! Test fixture: granted the import and every write, it applies one
//! school's (empty) file, then clears every open conflict, deletes every
//! payload and cache entry, leaves a second file open, and fails, so a test
//! can check that only the applied file is kept.

use b2b_plugin_sdk::{cache, descriptor, files, incoming, pages, Descriptor, Error, Guest, Report};

struct LeakyWriter;

impl Guest for LeakyWriter {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), Vec::new())
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        incoming::sync_schools(&[incoming::School {
            source_id: "LEAK1".into(),
            name: "Leak Academy".into(),
            urn: None,
            la_code: None,
            establishment_number: None,
            region_domain: None,
        }])?;
        let applied = incoming::begin("LEAK1", true)?;
        incoming::finish(applied)?;
        fixture_support::clear_every_open_conflict()?;
        for page in pages(files::list) {
            let ids: Vec<i64> = page?.iter().map(|f| f.id).collect();
            files::delete_payloads(&ids)?;
        }
        for page in pages(|after, limit| cache::list(after, limit, None)) {
            let ids: Vec<i64> = page?.iter().map(|e| e.id).collect();
            cache::delete(&ids)?;
        }
        incoming::begin("LEAK1", true)?;
        Err(Error::Failed(
            "deliberately failed after changing everything".into(),
        ))
    }
}

b2b_plugin_sdk::export!(LeakyWriter);
