//! Auto Accept Cosmetic: accepts the open data conflicts whose incoming value
//! differs from the held one only by case, spacing or punctuation (`OBRIEN`
//! for `O'Brien`, `Mary-Ann` for `mary ann`), so the held record takes the
//! school's spelling, and leaves every other conflict open for a person.
//!
//! Which data items it looks at is a parameter: by default every name and
//! free-text item, since a code, postcode, date or flag that differs in
//! punctuation may well differ in meaning.

use b2b_plugin_sdk::conflicts::{self, Conflict, ItemKind};
use b2b_plugin_sdk::{apply_batch, descriptor, held_values, log, pages, params};
use b2b_plugin_sdk::{Descriptor, Error, Guest, Report};

/// The parameter naming the data items to look at.
const ITEMS: &str = "items";

struct AutoAcceptCosmetic;

impl Guest for AutoAcceptCosmetic {
    fn describe() -> Descriptor {
        descriptor(
            include_str!("../plugin.toml"),
            vec![
                params::spec(
                    ITEMS,
                    "the data items to accept cosmetic differences on, separated by commas, \
                     e.g. basic.surname,basic.forename (default: every name and free-text item)",
                    None,
                ),
                params::dry_run_spec(),
            ],
        )
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let items = Items::from_param(params::get(&params, ITEMS))?;
        let dry_run = params::dry_run(&params)?;
        let (mut examined, mut accepted) = (0, 0);
        for page in pages(conflicts::list_open) {
            let page = page?;
            let ids = cosmetic(&page, &items)?;
            let page_accepted = apply_batch(&ids, dry_run, conflicts::accept)?;
            log::info(&format!(
                "Conflicts {} to {}: {} {page_accepted} of {}.",
                page[0].id,
                page[page.len() - 1].id,
                if dry_run { "would accept" } else { "accepted" },
                page.len(),
            ));
            examined += page.len() as u64;
            accepted += page_accepted;
        }
        let summary = format!(
            "{} {accepted} of {examined} open conflicts whose incoming value differed from the held one \
             only by case, spacing or punctuation, on {}; left {} open.",
            if dry_run { "Dry run: would accept" } else { "Accepted" },
            items,
            examined - accepted,
        );
        Ok(Report {
            examined,
            changed: accepted,
            skipped: examined - accepted,
            summary,
        })
    }
}

b2b_plugin_sdk::export!(AutoAcceptCosmetic);

/// The ids of the conflicts on `items` whose values differ only cosmetically,
/// fetching the held values of just those in one host call.
fn cosmetic(page: &[Conflict], items: &Items) -> Result<Vec<i64>, Error> {
    let covered: Vec<&Conflict> = page.iter().filter(|c| items.cover(c)).collect();
    let held = held_values(covered.iter().copied())?;
    Ok(covered
        .iter()
        .zip(&held)
        .filter(|(c, held)| differ_cosmetically(held.as_deref(), c.incoming.as_deref()))
        .map(|(c, _)| c.id)
        .collect())
}

/// The data items to look at.
enum Items {
    /// Every name and free-text item.
    NamesAndText,
    /// These item keys.
    Listed(Vec<String>),
}

impl Items {
    /// From the `items` parameter: absent or blank is the default.
    fn from_param(raw: Option<&str>) -> Result<Items, Error> {
        let keys: Vec<String> = raw
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(str::to_string)
            .collect();
        if keys.is_empty() {
            return Ok(Items::NamesAndText);
        }
        if let Some(bad) = keys.iter().find(|key| !looks_like_item_key(key)) {
            return Err(Error::Invalid(format!(
                "parameter `{ITEMS}` lists data item keys such as basic.surname, separated by commas; \
                 `{bad}` is not one"
            )));
        }
        Ok(Items::Listed(keys))
    }

    fn cover(&self, conflict: &Conflict) -> bool {
        match self {
            Items::NamesAndText => matches!(conflict.kind, ItemKind::Name | ItemKind::Text),
            Items::Listed(keys) => keys.contains(&conflict.item),
        }
    }
}

impl std::fmt::Display for Items {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Items::NamesAndText => f.write_str("every name and free-text item"),
            Items::Listed(keys) => write!(f, "{}", keys.join(", ")),
        }
    }
}

/// `group.item`, in lower case, as the host's keys are.
fn looks_like_item_key(key: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    key.split_once('.')
        .is_some_and(|(group, item)| part(group) && part(item))
}

/// Whether two values differ, but only by case, spacing or punctuation.
/// Values with no letters or digits are never taken as the same: `-` for an
/// empty value is not a spelling of it.
fn differ_cosmetically(held: Option<&str>, incoming: Option<&str>) -> bool {
    let (Some(held), Some(incoming)) = (held, incoming) else {
        return false;
    };
    let folded = fold(held);
    held != incoming && !folded.is_empty() && folded == fold(incoming)
}

/// The letters and digits of a value, in lower case.
fn fold(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}
