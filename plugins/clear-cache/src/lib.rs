//! Clear Cache: forgets the hash of old incoming blocks, so that the next
//! import of that data is processed in full rather than skipped as unchanged.

use b2b_plugin_sdk::{cache, descriptor, params, sweep};
use b2b_plugin_sdk::{Cutoff, Descriptor, Error, Guest, Report};

/// The System Default that gives the retention period.
const RETENTION_DAYS: &str = "cache.retention_days";
const ALL: &str = "all";
const SCHOOL: &str = "school";

struct ClearCache;

impl Guest for ClearCache {
    fn describe() -> Descriptor {
        descriptor(
            include_str!("../plugin.toml"),
            vec![
                params::spec(
                    ALL,
                    "true to delete every entry whatever its age",
                    Some("false"),
                ),
                params::spec(
                    SCHOOL,
                    "only this school's entries: its Wonde id, URN or number as shown by `b2b schools list`",
                    None,
                ),
                Cutoff::param_spec(RETENTION_DAYS),
                params::dry_run_spec(),
            ],
        )
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let all = params::bool(&params, ALL, false)?;
        let school = params::get(&params, SCHOOL)
            .map(str::trim)
            .filter(|school| !school.is_empty());
        let dry_run = params::dry_run(&params)?;
        // Resolved even with `all`, so that a bad `older_than_days` is still
        // reported rather than silently ignored.
        let cutoff = Cutoff::resolve(&params, RETENTION_DAYS)?;
        let swept = sweep(
            |after, limit| cache::list(after, limit, school),
            |entry| all || entry.imported_at < cutoff.before,
            dry_run,
            cache::delete,
            "Cache entries",
        )?;
        let (examined, deleted) = (swept.examined, swept.changed);
        let which = match school {
            Some(school) => format!("cache entries of school {school}"),
            None => "cache entries".into(),
        };
        let done = if dry_run {
            "Dry run: would delete"
        } else {
            "Deleted"
        };
        let summary = if all {
            format!("{done} {deleted} of {examined} {which}, whatever their age.")
        } else {
            format!(
                "{done} {deleted} of {examined} {which} imported more than {} days before this run; kept {}.",
                cutoff.days,
                examined - deleted,
            )
        };
        Ok(swept.report(summary))
    }
}

b2b_plugin_sdk::export!(ClearCache);
