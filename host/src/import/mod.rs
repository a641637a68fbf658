//! The import pipeline (DESIGN.md section 4): the host side of the
//! `incoming` interface. A plugin fetches and maps; the host stores the
//! transfer, matches, applies processing rules, compares with the cache and
//! raises conflicts.
//!
//! A file's students are held in memory only until the file is finished,
//! then applied in one transaction, so a school that fails changes nothing
//! and memory is bounded by the schools in flight, not by the LA's size.

mod apply;
mod matching;

pub use apply::Outcome;
pub use matching::{SOURCE_ID, UPI};

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::items;
use crate::storage::files::{self, Status};
use crate::storage::{defaults, rules::CONTACTS, schools};
use crate::time::{self, Timestamp};
use flate2::{write::GzEncoder, Compression};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;

/// The most students one file may carry: far above any school, it stops a
/// runaway plugin from exhausting the host's memory.
const MAX_STUDENTS_PER_FILE: usize = 100_000;

/// A carer as the source sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Name.
    pub name: Option<String>,
    /// Relationship to the student.
    pub relationship: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Whether the carer has parental responsibility.
    pub parental_responsibility: Option<bool>,
}

/// One incoming student in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingStudent {
    /// The source's id.
    pub source_id: String,
    /// A stable person id (GUID).
    pub upi: Option<String>,
    /// Items the source sent, by key (`None`: sent empty).
    pub items: Vec<(String, Option<String>)>,
    /// Carers, when sent.
    pub contacts: Option<Vec<Contact>>,
}

impl IncomingStudent {
    /// The value sent for an item, if any.
    pub fn item(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// A file being transferred.
struct PendingFile {
    school: schools::School,
    began_at: Timestamp,
    students: Vec<IncomingStudent>,
    deletions: Vec<String>,
    payload: GzEncoder<Vec<u8>>,
}

/// A school's transfer as it ends, for a progress display.
#[derive(Debug, Clone)]
pub struct FileEvent {
    /// The school's name.
    pub school: String,
    /// Completed or failed.
    pub status: Status,
    /// Students it carried.
    pub students: usize,
}

/// Told about each file as it ends (the CLI's progress lines).
pub type Progress = std::sync::Arc<dyn Fn(&FileEvent) + Send + Sync>;

/// The files an import run has open.
#[derive(Default)]
pub struct Session {
    files: HashMap<i64, PendingFile>,
    progress: Option<Progress>,
}

impl Session {
    /// A session that reports each file as it ends.
    pub fn with_progress(progress: Option<Progress>) -> Session {
        Session {
            files: HashMap::new(),
            progress,
        }
    }

    fn report(&self, school: &schools::School, completed: bool, students: usize) {
        if let Some(progress) = &self.progress {
            let status = if completed {
                Status::Completed
            } else {
                Status::Failed
            };
            progress(&FileEvent {
                school: school.name.clone(),
                status,
                students,
            });
        }
    }

    /// Starts a file for a school named by its source id.
    pub fn begin(&mut self, conn: &Connection, source_id: &str, full: bool) -> Result<i64> {
        let school = schools::by_source_id(conn, source_id)?;
        let id = files::begin(conn, school.id, full)?;
        let payload = GzEncoder::new(Vec::new(), Compression::fast());
        self.files.insert(
            id,
            PendingFile {
                school,
                began_at: time::now(),
                students: Vec::new(),
                deletions: Vec::new(),
                payload,
            },
        );
        Ok(id)
    }

    fn pending(&mut self, file: i64) -> Result<&mut PendingFile> {
        self.files.get_mut(&file).ok_or_else(|| {
            Error::invalid(format!(
                "file {file} is not open in this run (begin it first; finish or fail it once)"
            ))
        })
    }

    /// Appends transferred bytes to the file's payload.
    pub fn store(&mut self, file: i64, chunk: &[u8]) -> Result<()> {
        self.pending(file)?.payload.write_all(chunk)?;
        Ok(())
    }

    /// Adds incoming students to the file, refusing unknown item keys.
    pub fn submit(&mut self, file: i64, students: Vec<IncomingStudent>) -> Result<()> {
        for s in &students {
            for (key, _) in &s.items {
                items::lookup(key)?;
            }
        }
        let pending = self.pending(file)?;
        if pending.students.len() + students.len() > MAX_STUDENTS_PER_FILE {
            return Err(Error::invalid(format!(
                "a file may carry at most {MAX_STUDENTS_PER_FILE} students"
            )));
        }
        pending.students.extend(students);
        Ok(())
    }

    /// Records students deleted at the source.
    pub fn deleted(&mut self, file: i64, source_ids: Vec<String>) -> Result<()> {
        self.pending(file)?.deletions.extend(source_ids);
        Ok(())
    }

    /// Applies a file in one transaction and marks it completed; when
    /// applying fails the file is marked failed and nothing of it is applied.
    pub fn finish(&mut self, conn: &Connection, file: i64, actor: &Actor) -> Result<Outcome> {
        self.pending(file)?;
        let pending = self.files.remove(&file).expect("checked above");
        let payload = pending.payload.finish()?;
        files::set_status(conn, file, Status::Processing)?;
        let applied = crate::storage::in_transaction(conn, |tx| {
            let ctx = apply::Context::load(tx, &pending.school, actor)?;
            let outcome = apply::apply(tx, &ctx, file, &pending.students, &pending.deletions)?;
            let summary = serde_json::to_string(&outcome).expect("counts serialise");
            let warnings = (!outcome.warnings.is_empty()).then(|| outcome.warnings.join("\n"));
            files::end(
                tx,
                file,
                Status::Completed,
                &payload,
                pending.students.len() as i64,
                Some(&summary),
                warnings.as_deref(),
            )?;
            schools::set_last_success(tx, pending.school.id, pending.began_at)?;
            Ok(outcome)
        });
        if let Err(e) = &applied {
            let reason =
                format!("applying the transfer failed, so nothing from it was applied: {e}");
            failed(conn, file, &payload, pending.students.len(), &reason)?;
        }
        self.report(&pending.school, applied.is_ok(), pending.students.len());
        applied
    }

    /// Marks a file failed with a reason; nothing from it is applied.
    pub fn fail(&mut self, conn: &Connection, file: i64, reason: &str) -> Result<()> {
        self.pending(file)?;
        let pending = self.files.remove(&file).expect("checked above");
        self.report(&pending.school, false, pending.students.len());
        let payload = pending.payload.finish()?;
        failed(conn, file, &payload, pending.students.len(), reason)
    }

    /// Fails every file still open when a run ends (the plugin stopped, or
    /// forgot them), so none is left queued for ever.
    pub fn abandon(&mut self, conn: &Connection, why: &str) {
        let open: Vec<i64> = self.files.keys().copied().collect();
        for file in open {
            let reason =
                format!("the import stopped before this school's transfer finished: {why}");
            // Best effort: the run's own failure is what gets reported.
            let _ = self.fail(conn, file, &reason);
        }
    }
}

/// Ends a file as failed: what was transferred is kept, nothing is applied.
fn failed(
    conn: &Connection,
    file: i64,
    payload: &[u8],
    students: usize,
    reason: &str,
) -> Result<()> {
    files::end(
        conn,
        file,
        Status::Failed,
        payload,
        students as i64,
        None,
        Some(reason),
    )
}

/// The data groups the import hashes and caches, in a fixed order.
pub(crate) fn groups() -> impl Iterator<Item = &'static str> {
    let mut groups: Vec<&'static str> = items::ITEMS.iter().map(|i| i.group).collect();
    groups.dedup();
    groups.into_iter().chain(std::iter::once(CONTACTS))
}

/// Reads the matching settings once per file.
pub(crate) fn bool_setting(conn: &Connection, key: &str) -> Result<bool> {
    match defaults::get(conn, key)? {
        defaults::Value::Boolean(b) => Ok(b),
        other => Err(Error::invalid(format!(
            "{key} is {other}, not true or false"
        ))),
    }
}
