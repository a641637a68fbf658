//! The import pipeline (docs/architecture.md): the host side of the
//! `incoming` interface. A plugin fetches and maps; the host stores the
//! transfer, matches, applies processing rules, compares with the cache and
//! raises conflicts.
//!
//! A file's students are held in memory only until the file is finished,
//! then applied in one transaction, so a school that fails changes nothing
//! and memory is bounded by the schools in flight, not by the LA's size.

mod account;
mod apply;
mod matching;

pub use apply::Outcome;
pub use matching::{not_one_child, SOURCE_ID, UPI};

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::items;
use crate::storage::files::{self, Status};
use crate::storage::payloads::Prepared;
use crate::storage::{defaults, rules::CONTACTS, schools};
use crate::time::{self, Timestamp};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The most students one file may carry: far above any school, it stops a
/// runaway plugin from exhausting the host's memory.
const MAX_STUDENTS_PER_FILE: usize = 100_000;
/// The most files one run may have open at once (a school each).
const MAX_OPEN_FILES: usize = 64;
/// The most bytes of transferred data one run may store (before
/// compression), over all its files: far above an LA's every school with
/// every include.
const MAX_STORED_BYTES: u64 = 4 << 30;
/// The most bytes the host holds in memory for one run's import: incoming
/// students, deletions and payloads (as transferred) of the open files, and the
/// schools the source described.
const MAX_HELD_BYTES: usize = 512 << 20;

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
    /// Roughly how many bytes the host holds for this student, to bound
    /// what a run can make it keep in memory.
    fn approx_bytes(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let items: usize = self.items.iter().map(|(k, v)| 48 + k.len() + text(v)).sum();
        let contacts: usize = self
            .contacts
            .iter()
            .flatten()
            .map(|c| 96 + text(&c.name) + text(&c.relationship) + text(&c.phone) + text(&c.email))
            .sum();
        96 + self.source_id.len() + text(&self.upi) + items + contacts
    }

    /// The value sent for an item, if any.
    pub fn item(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// A school as its source describes it, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSchool {
    /// The source's id, e.g. Wonde's `A1234567890`.
    pub source_id: String,
    /// Name.
    pub name: String,
    /// URN.
    pub urn: Option<i64>,
    /// LA code.
    pub la_code: Option<String>,
    /// Establishment number.
    pub establishment_number: Option<String>,
    /// The API domain that serves the school.
    pub region_domain: Option<String>,
}

impl SourceSchool {
    /// Roughly how many bytes the host holds for it.
    fn approx_bytes(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        128 + self.source_id.len()
            + self.name.len()
            + text(&self.la_code)
            + text(&self.establishment_number)
            + text(&self.region_domain)
    }

    fn as_new(&self) -> schools::NewSchool<'_> {
        schools::NewSchool {
            wonde_id: &self.source_id,
            name: &self.name,
            urn: self.urn,
            la_code: self.la_code.as_deref(),
            establishment_number: self.establishment_number.as_deref(),
            region_domain: self.region_domain.as_deref(),
        }
    }
}

/// What the host holds about a school the source listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolState {
    /// When its last successful import started (none: never).
    pub last_success: Option<Timestamp>,
    /// False when the LA stopped importing it.
    pub active: bool,
}

/// A file being transferred.
struct PendingFile {
    school: schools::School,
    /// The source's description, applied with the file.
    described: Option<SourceSchool>,
    began_at: Timestamp,
    students: Vec<IncomingStudent>,
    /// Roughly how many bytes `students` holds.
    held_bytes: usize,
    deletions: Vec<String>,
    /// What was transferred, as sent: compressed when the file ends, and
    /// only if no identical payload is stored already.
    payload: Vec<u8>,
}

/// A file a run ended, for the run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndedFile {
    /// The file's id.
    pub id: i64,
    /// Its school's name.
    pub school: String,
    /// What applying it did (applied files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Why it failed, as recorded in its error log (failed files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The files a run ended: the applied ones are kept whatever becomes of
/// the run, since each is applied in its own transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ended {
    /// Applied and completed.
    pub applied: Vec<EndedFile>,
    /// Marked failed; nothing of them applied.
    pub failed: Vec<EndedFile>,
    /// Schools the LA had never seen, added when their first file began.
    pub schools_added: Vec<String>,
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
///
/// Nothing the run does outside a finished file survives a failed run:
/// `sync_schools` only remembers what the source said, and a school's held
/// details are refreshed inside its file's transaction. The one write that
/// stands whatever happens is a file's record (and, for a school the LA has
/// never seen, the school it names), so a failure is never invisible.
#[derive(Default)]
pub struct Session {
    files: HashMap<i64, PendingFile>,
    described: HashMap<String, SourceSchool>,
    /// What the run holds in memory, charged against [`MAX_HELD_BYTES`].
    held_bytes: usize,
    /// What the run has stored, charged against [`MAX_STORED_BYTES`].
    stored_bytes: u64,
    progress: Option<Progress>,
    ended: Ended,
    /// Held students this run added: never evidence for matching another.
    added: matching::Added,
    /// The action run whose files these are (none for `describe`).
    run_id: Option<i64>,
}

impl Session {
    /// The session of run `run_id`, reporting each file as it ends.
    pub fn new(run_id: i64, progress: Option<Progress>) -> Session {
        Session {
            run_id: Some(run_id),
            progress,
            ..Session::default()
        }
    }

    /// The files the run ended.
    pub fn into_ended(self) -> Ended {
        self.ended
    }

    /// Takes `bytes` from what the run may hold in memory, for `file` when
    /// it is a file's (given back when the file ends).
    fn charge(&mut self, file: Option<i64>, bytes: usize) -> Result<()> {
        if self.held_bytes + bytes > MAX_HELD_BYTES {
            return Err(Error::invalid(format!(
                "an import run may hold at most {} MiB of incoming data at once; finish a file before sending more",
                MAX_HELD_BYTES >> 20
            )));
        }
        self.held_bytes += bytes;
        if let Some(file) = file {
            self.pending(file)?.held_bytes += bytes;
        }
        Ok(())
    }

    /// Remembers what the source says of its schools and returns what the
    /// host holds of each, in the same order. Writes nothing.
    pub fn sync_schools(
        &mut self,
        conn: &Connection,
        list: Vec<SourceSchool>,
    ) -> Result<Vec<SchoolState>> {
        let mut states = Vec::with_capacity(list.len());
        for school in list {
            self.charge(None, school.approx_bytes())?;
            let held = schools::find_by_source_id(conn, &school.source_id)?;
            states.push(SchoolState {
                last_success: held.as_ref().and_then(|s| s.last_success_at),
                active: held.as_ref().is_none_or(|s| s.active),
            });
            self.described.insert(school.source_id.clone(), school);
        }
        Ok(states)
    }

    /// Records how a file ended: `Ok` with what applying it did, or `Err`
    /// with why it failed.
    fn report(
        &mut self,
        file: i64,
        school: &schools::School,
        ended: std::result::Result<&Outcome, &str>,
        students: usize,
    ) {
        // The name came from the source: it is shown escaped, and short.
        let name = crate::text::capped(&school.name, 200);
        let (status, list, outcome, reason) = match ended {
            Ok(outcome) => (
                Status::Completed,
                &mut self.ended.applied,
                Some(outcome.clone()),
                None,
            ),
            Err(reason) => (
                Status::Failed,
                &mut self.ended.failed,
                None,
                Some(crate::text::capped(reason, 1000)),
            ),
        };
        list.push(EndedFile {
            id: file,
            school: name.clone(),
            outcome,
            reason,
        });
        if let Some(progress) = &self.progress {
            progress(&FileEvent {
                school: name,
                status,
                students,
            });
        }
    }

    /// Starts a file for a school named by its source id: one the LA holds,
    /// or one the source listed in this run (which is then added, so that
    /// the file's record can name it).
    pub fn begin(&mut self, conn: &Connection, source_id: &str, full: bool) -> Result<i64> {
        if self.files.len() >= MAX_OPEN_FILES {
            return Err(Error::invalid(format!(
                "a run may have at most {MAX_OPEN_FILES} files open at once; finish or fail one first"
            )));
        }
        let described = self.described.get(source_id).cloned();
        let mut added = None;
        let (school, id, busy) = crate::storage::in_transaction(conn, |tx| {
            let school = match (schools::find_by_source_id(tx, source_id)?, &described) {
                (Some(school), _) => school,
                (None, Some(new)) => {
                    let school = schools::upsert(tx, &new.as_new())?;
                    added = Some(crate::text::capped(&school.name, 200));
                    school
                }
                (None, None) => {
                    return Err(Error::not_found(format!(
                        "no school with source id `{source_id}`: list it in sync-schools first"
                    )))
                }
            };
            let busy = files::open_elsewhere(tx, school.id, self.run_id)?;
            let id = files::begin(tx, school.id, full, self.run_id)?;
            Ok((school, id, busy))
        })?;
        self.ended.schools_added.extend(added);
        self.files.insert(
            id,
            PendingFile {
                school,
                described,
                began_at: time::now(),
                students: Vec::new(),
                held_bytes: 0,
                deletions: Vec::new(),
                payload: Vec::new(),
            },
        );
        if let Some((other_file, other_run)) = busy {
            // Two runs applying one school at once could each take the
            // other's new pupils for evidence; the later one stands aside,
            // visibly.
            let reason = format!(
                "another run ({}) is importing this school now (its file {other_file}); this run left the school to it",
                other_run.map_or("of another process".into(), |r| format!("run {r}"))
            );
            self.fail(conn, id, &reason)?;
            return Err(Error::invalid(reason));
        }
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
        self.pending(file)?;
        if self.stored_bytes + chunk.len() as u64 > MAX_STORED_BYTES {
            return Err(Error::invalid(format!(
                "an import run may store at most {} GiB of transferred data",
                MAX_STORED_BYTES >> 30
            )));
        }
        self.charge(Some(file), chunk.len())?;
        self.stored_bytes += chunk.len() as u64;
        self.pending(file)?.payload.extend_from_slice(chunk);
        Ok(())
    }

    /// Adds incoming students to the file, refusing unknown item keys. A
    /// blank person GUID is no GUID: it would make every blank-GUID record
    /// one person.
    pub fn submit(&mut self, file: i64, mut students: Vec<IncomingStudent>) -> Result<()> {
        for s in &mut students {
            if s.upi.as_deref().is_some_and(|g| g.trim().is_empty()) {
                s.upi = None;
            }
        }
        for s in &students {
            for (key, _) in &s.items {
                items::lookup(key)?;
            }
        }
        if self.pending(file)?.students.len() + students.len() > MAX_STUDENTS_PER_FILE {
            return Err(Error::invalid(format!(
                "a file may carry at most {MAX_STUDENTS_PER_FILE} students"
            )));
        }
        let bytes: usize = students.iter().map(IncomingStudent::approx_bytes).sum();
        self.charge(Some(file), bytes)?;
        self.pending(file)?.students.extend(students);
        Ok(())
    }

    /// Records students deleted at the source.
    pub fn deleted(&mut self, file: i64, source_ids: Vec<String>) -> Result<()> {
        if self.pending(file)?.deletions.len() + source_ids.len() > MAX_STUDENTS_PER_FILE {
            return Err(Error::invalid(format!(
                "a file may record at most {MAX_STUDENTS_PER_FILE} deletions"
            )));
        }
        let bytes = source_ids.iter().map(|id| 24 + id.len()).sum();
        self.charge(Some(file), bytes)?;
        self.pending(file)?.deletions.extend(source_ids);
        Ok(())
    }

    /// Takes an open file out of the session.
    fn take(&mut self, file: i64) -> Result<PendingFile> {
        self.pending(file)?;
        let pending = self.files.remove(&file).expect("checked above");
        self.held_bytes -= pending.held_bytes;
        Ok(pending)
    }

    /// Applies a file in one transaction and marks it completed; when
    /// applying fails the file is marked failed and nothing of it is applied.
    pub fn finish(&mut self, conn: &Connection, file: i64, actor: &Actor) -> Result<Outcome> {
        let pending = self.take(file)?;
        // Hashed and compressed before the transaction, which then only
        // writes.
        let payload = Prepared::new(conn, &pending.payload)?;
        files::set_status(conn, file, Status::Processing)?;
        let added = &mut self.added;
        let applied = crate::storage::in_transaction(conn, |tx| {
            let school = match &pending.described {
                Some(described) => schools::upsert(tx, &described.as_new())?,
                None => pending.school.clone(),
            };
            let ctx = apply::Context::load(tx, &school, actor)?;
            let outcome =
                apply::apply(tx, &ctx, file, &pending.students, &pending.deletions, added)?;
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
        let students = pending.students.len();
        match &applied {
            Ok(outcome) => {
                self.added.commit();
                self.report(file, &pending.school, Ok(outcome), students);
            }
            Err(e) => {
                self.added.roll_back();
                let reason =
                    format!("applying the transfer failed, so nothing from it was applied: {e}");
                failed(conn, file, &payload, students, &reason)?;
                self.report(file, &pending.school, Err(&reason), students);
            }
        }
        applied
    }

    /// Marks a file failed with a reason; nothing from it is applied.
    pub fn fail(&mut self, conn: &Connection, file: i64, reason: &str) -> Result<()> {
        let pending = self.take(file)?;
        self.report(file, &pending.school, Err(reason), pending.students.len());
        let payload = Prepared::new(conn, &pending.payload)?;
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

/// Places an unmatched incoming student a person decided on, inside the
/// caller's transaction: `Some(student)` matches it to that held student
/// (its ids are linked and its data compared with the held record under the
/// school's processing rules now, raising conflicts as an import would);
/// `None` adds it as a new held student with its carers. Returns the held
/// student's id.
pub fn place(
    conn: &Connection,
    school_id: i64,
    incoming: &IncomingStudent,
    student: Option<i64>,
    actor: &Actor,
) -> Result<i64> {
    let school = schools::get(conn, school_id)?;
    let ctx = apply::Context::load(conn, &school, actor)?;
    apply::place(conn, &ctx, incoming, student)
}

/// Ends a file as failed: what was transferred is kept, nothing is applied.
/// One transaction, so a file another process has ended meanwhile keeps no
/// payload of this one's.
fn failed(
    conn: &Connection,
    file: i64,
    payload: &Prepared,
    students: usize,
    reason: &str,
) -> Result<()> {
    crate::storage::in_transaction(conn, |tx| {
        files::end(
            tx,
            file,
            Status::Failed,
            payload,
            students as i64,
            None,
            Some(reason),
        )
    })
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
