//! Wonde Import: brings the students of the schools that approved this
//! account in Wonde into the LA's database.
//!
//! The plugin only fetches; reading Wonde's JSON into records is the
//! `wonde-map` crate's. The host holds the token (named as the `wonde`
//! credential), fetches concurrently and retries, records each school's
//! transfer as a file, and does the matching, processing rules, cache and
//! conflicts when a school's file is finished.

mod fetch;
mod import;
mod report;
mod url;

use b2b_plugin_sdk::{descriptor, incoming, int_setting, log, params, settings};
use b2b_plugin_sdk::{Descriptor, Error, Guest, Report, Value};
use fetch::PageOf;
use import::{Chosen, Options};
use std::collections::BTreeSet;

const SCHOOL: &str = "school";
const FULL: &str = "full";

struct WondeImport;

impl Guest for WondeImport {
    fn describe() -> Descriptor {
        // No `dry_run`: the host applies a school's file as a whole when it
        // is finished, so an import cannot be half-applied to preview it.
        descriptor(
            include_str!("../plugin.toml"),
            vec![
                params::spec(
                    SCHOOL,
                    "only these schools: Wonde school ids, separated by commas (default: every approved school)",
                    None,
                ),
                params::spec(
                    FULL,
                    "true to fetch every student, ignoring the last successful import",
                    Some("false"),
                ),
            ],
        )
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let options = Options {
            base: url::base(&text_setting("wonde.base_url")?),
            per_page: positive_setting("wonde.per_page")?,
            concurrency: positive_setting("wonde.concurrency")? as usize,
            full: params::bool(&params, FULL, false)?,
        };
        let named = named_schools(&params);
        let listed = fetch_schools(&options.base)?;
        check_listed(&named, &listed)?;
        let states = incoming::sync_schools(&listed)?;
        let chosen = choose(listed, states, &named)?;
        Ok(import::import(chosen, &options)?.report())
    }
}

b2b_plugin_sdk::export!(WondeImport);

fn text_setting(key: &str) -> Result<String, Error> {
    match settings::get(key)? {
        Value::Text(text) => Ok(text),
        other => Err(Error::Failed(format!(
            "System Default `{key}` should be text, is {other:?}"
        ))),
    }
}

/// An integer System Default that must be at least 1 (a page size or a
/// number of schools at once).
fn positive_setting(key: &str) -> Result<u32, Error> {
    let value = int_setting(key)?;
    u32::try_from(value).ok().filter(|&n| n > 0).ok_or_else(|| {
        Error::Failed(format!(
            "System Default `{key}` must be a whole number from 1 to {}, is {value}",
            u32::MAX
        ))
    })
}

/// The school ids given in the `school` parameter; empty for all.
fn named_schools(params: &[(String, String)]) -> Vec<&str> {
    params::get(params, SCHOOL)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect()
}

/// Every school Wonde lists for this token, once each, following the pages.
fn fetch_schools(base: &str) -> Result<Vec<incoming::School>, Error> {
    let mut schools = Vec::new();
    // Not a `HashSet`: its random seed would need WASI randomness, which a
    // run does not have.
    let mut seen = BTreeSet::new();
    let mut url = Some(url::schools(base));
    let mut page = PageOf {
        list: "school list",
        school: None,
        number: 1,
    };
    while let Some(current) = url {
        let mut responses = fetch::send(&[fetch::get(current.clone())])?;
        let body = responses
            .pop()
            .ok_or_else(|| Error::Failed("the host returned no HTTP result".into()))
            .and_then(|response| fetch::body(response, &page).map_err(Error::Failed))?;
        let mapped = fetch::read(&body, &page, wonde_map::schools_page).map_err(Error::Failed)?;
        let new = mapped
            .records
            .into_iter()
            .filter(|school| seen.insert(school.source_id.clone()));
        schools.extend(new);
        url = fetch::next(mapped.next.as_deref(), &current, &page).map_err(Error::Failed)?;
        page.number += 1;
    }
    Ok(schools)
}

/// Fails when a named school is not one Wonde lists, naming each one.
fn check_listed(named: &[&str], listed: &[incoming::School]) -> Result<(), Error> {
    let missing: Vec<&str> = named
        .iter()
        .copied()
        .filter(|id| !listed.iter().any(|s| s.source_id == *id))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "Wonde does not list school {}: only schools that have approved this account can be imported",
        missing.join(", ")
    )))
}

/// The active schools among `listed` (only the `named` ones, if any), with
/// when each last imported successfully.
fn choose(
    listed: Vec<incoming::School>,
    states: Vec<incoming::SchoolState>,
    named: &[&str],
) -> Result<Vec<Chosen>, Error> {
    // Pairing a short answer by position would mix schools up.
    if states.len() != listed.len() {
        return Err(Error::Failed(format!(
            "the host returned {} school states for {} schools",
            states.len(),
            listed.len()
        )));
    }
    let wanted =
        |school: &incoming::School| named.is_empty() || named.contains(&school.source_id.as_str());
    let mut chosen = Vec::new();
    for (school, state) in listed.into_iter().zip(states) {
        if !wanted(&school) {
            continue;
        }
        if state.active {
            chosen.push(Chosen {
                school,
                last_success: state.last_success,
            });
        } else if !named.is_empty() {
            log::warn(&format!(
                "School {} was not imported: the LA has stopped importing it.",
                school.source_id
            ));
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(school: &str) -> Vec<(String, String)> {
        vec![(SCHOOL.into(), school.into())]
    }

    fn school(id: &str) -> incoming::School {
        incoming::School {
            source_id: id.into(),
            name: String::new(),
            urn: None,
            la_code: None,
            establishment_number: None,
            region_domain: None,
        }
    }

    fn state(id: &str, active: bool) -> incoming::SchoolState {
        incoming::SchoolState {
            source_id: id.into(),
            last_success: Some(7),
            active,
        }
    }

    #[test]
    fn describe_matches_the_manifest() {
        let d = WondeImport::describe();
        assert_eq!(
            (d.id.as_str(), d.name.as_str(), d.version.as_str()),
            ("wonde-import", "Wonde Import", "0.1.0")
        );
        let names: Vec<_> = d.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, [SCHOOL, FULL]);
    }

    #[test]
    fn named_schools_are_comma_separated() {
        assert!(named_schools(&[]).is_empty());
        assert!(named_schools(&p(" , ")).is_empty());
        assert_eq!(named_schools(&p("A1, B2,,C3 ")), ["A1", "B2", "C3"]);
    }

    #[test]
    fn a_named_school_wonde_does_not_list_is_invalid() {
        let listed = [school("A1"), school("B2")];
        assert_eq!(check_listed(&["A1"], &listed), Ok(()));
        assert_eq!(check_listed(&[], &listed), Ok(()));
        assert_eq!(
            check_listed(&["X9", "A1", "Y8"], &listed),
            Err(Error::Invalid(
                "Wonde does not list school X9, Y8: only schools that have approved this account can be imported"
                    .into()
            ))
        );
    }

    #[test]
    fn chooses_active_schools() {
        let listed = || vec![school("A1"), school("B2"), school("C3")];
        let states = || vec![state("A1", true), state("B2", false), state("C3", true)];
        let ids = |chosen: Vec<Chosen>| -> Vec<String> {
            chosen.into_iter().map(|c| c.school.source_id).collect()
        };
        assert_eq!(ids(choose(listed(), states(), &[]).unwrap()), ["A1", "C3"]);
        assert_eq!(ids(choose(listed(), states(), &["C3"]).unwrap()), ["C3"]);
        let chosen = choose(listed(), states(), &["A1"]).unwrap();
        assert_eq!(chosen[0].last_success, Some(7));
        assert!(choose(listed(), states()[..2].to_vec(), &[]).is_err());
    }
}
