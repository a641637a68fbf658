//! Clear Conflicts: clears the open conflicts that have resolved themselves,
//! because the LA's held value has since been changed to match what the
//! school sent.

use b2b_normalise::ItemKind as Kind;
use b2b_plugin_sdk::conflicts::{self, ItemKind};
use b2b_plugin_sdk::{apply_batch, descriptor, held_values, log, pages, params};
use b2b_plugin_sdk::{Descriptor, Error, Guest, Report};

struct ClearConflicts;

impl Guest for ClearConflicts {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), vec![params::dry_run_spec()])
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let dry_run = params::dry_run(&params)?;
        let verb = if dry_run { "would clear" } else { "cleared" };
        let (mut examined, mut cleared, mut differ) = (0, 0, 0);
        for page in pages(conflicts::list_open) {
            let page = page?;
            let held = held_values(&page)?;
            let ids: Vec<i64> = page
                .iter()
                .zip(&held)
                .filter(|(c, held)| {
                    b2b_normalise::same(kind(c.kind), held.as_deref(), c.incoming.as_deref())
                })
                .map(|(c, _)| c.id)
                .collect();
            let page_differ = (page.len() - ids.len()) as u64;
            let page_cleared = apply_batch(&ids, dry_run, conflicts::clear)?;
            // Pages are never empty.
            log::info(&format!(
                "Conflicts {} to {}: {verb} {page_cleared} of {}; {page_differ} still differ.",
                page[0].id,
                page[page.len() - 1].id,
                page.len(),
            ));
            examined += page.len() as u64;
            cleared += page_cleared;
            differ += page_differ;
        }
        let summary = format!(
            "{} {cleared} of {examined} open conflicts whose held value now matches the incoming value; {differ} still differ.",
            if dry_run { "Dry run: would clear" } else { "Cleared" },
        );
        Ok(Report {
            examined,
            changed: cleared,
            skipped: differ,
            summary,
        })
    }
}

b2b_plugin_sdk::export!(ClearConflicts);

/// The WIT item kind as the shared comparison knows it.
fn kind(kind: ItemKind) -> Kind {
    match kind {
        ItemKind::Name => Kind::Name,
        ItemKind::Text => Kind::Text,
        ItemKind::Code => Kind::Code,
        ItemKind::Postcode => Kind::Postcode,
        ItemKind::Date => Kind::Date,
        ItemKind::Flag => Kind::Flag,
    }
}
