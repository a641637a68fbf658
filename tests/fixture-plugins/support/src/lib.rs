//! What several fixture plugins do before misbehaving. It lives here rather
//! than in the SDK because no real action needs it.

use b2b_plugin_sdk::{conflicts, pages, Error, Report};

/// Clears every open conflict, so that a test can check that the host rolled
/// the change back when the run then failed.
pub fn clear_every_open_conflict() -> Result<(), Error> {
    for page in pages(conflicts::list_open) {
        let ids: Vec<i64> = page?.iter().map(|c| c.id).collect();
        conflicts::clear(&ids)?;
    }
    Ok(())
}

/// A report of a run that examined and changed nothing.
pub fn nothing_done(summary: &str) -> Report {
    Report {
        examined: 0,
        changed: 0,
        skipped: 0,
        summary: summary.into(),
    }
}

/// Computes for ever, so that only the host's deadline ends the call.
pub fn compute_forever() -> ! {
    let mut state = 1u64;
    loop {
        // `black_box` keeps the optimiser from proving the loop pointless.
        state = std::hint::black_box(
            state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1),
        );
    }
}
