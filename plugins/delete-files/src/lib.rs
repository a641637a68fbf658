//! Delete Files: frees the space taken by old transfer payloads. A file's row
//! stays as a tombstone, so the transfer history is kept.

use b2b_plugin_sdk::files::{self, FileInfo, FileStatus};
use b2b_plugin_sdk::{descriptor, params, sweep};
use b2b_plugin_sdk::{Cutoff, Descriptor, Error, Guest, Report, Timestamp};

/// The System Default that gives the retention period.
const RETENTION_DAYS: &str = "files.retention_days";

struct DeleteFiles;

impl Guest for DeleteFiles {
    fn describe() -> Descriptor {
        descriptor(
            include_str!("../plugin.toml"),
            vec![Cutoff::param_spec(RETENTION_DAYS), params::dry_run_spec()],
        )
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let dry_run = params::dry_run(&params)?;
        let cutoff = Cutoff::resolve(&params, RETENTION_DAYS)?;
        let swept = sweep(
            files::list,
            |file| due(file, cutoff.before),
            dry_run,
            files::delete_payloads,
            "Files",
        )?;
        let (examined, deleted) = (swept.examined, swept.changed);
        let summary = format!(
            "{} the payloads of {deleted} completed or failed files received more than {} days before this run; kept {} of {examined} files.",
            if dry_run { "Dry run: would delete" } else { "Deleted" },
            cutoff.days,
            examined - deleted,
        );
        Ok(swept.report(summary))
    }
}

/// Whether `file`'s payload is due for deletion. Queued and processing files
/// are still in use, so they are never asked for.
fn due(file: &FileInfo, before: Timestamp) -> bool {
    matches!(file.status, FileStatus::Completed | FileStatus::Failed)
        && !file.deleted
        && file.received_at < before
}

b2b_plugin_sdk::export!(DeleteFiles);
