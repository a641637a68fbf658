//! The Wonde import as a person drives it: run it, read its files, place
//! the unmatched, set processing rules, keep the token.

use super::{ActionResult, RunOptions, Service};
use crate::error::{Error, Result};
use crate::import::{IncomingStudent, Progress};
use crate::plugins::capability::Capability;
use crate::secrets::Secrets;
use crate::storage::files::{self, FileInfo};
use crate::storage::rules::{self, Rule, StoredRule};
use crate::storage::unmatched::{self, Candidate, Unmatched};
use crate::storage::{audit, deletions, in_transaction, schools, students};
use serde_json::json;

/// The built-in import plugin.
pub const WONDE_IMPORT: &str = "wonde-import";

/// An unmatched record with the held students a rule nearly chose for it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnmatchedDetail {
    /// The record as it came in.
    pub record: Unmatched,
    /// Each candidate's held record, beside why no rule took it.
    pub candidates: Vec<(Candidate, students::Student)>,
    /// Other open records with its person GUID: each is placed with it
    /// (reason none) or stays open (the reason why).
    pub same_guid: Vec<(Unmatched, Option<String>)>,
}

/// One file in full.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileDetail {
    /// Its status, counts and error log.
    pub file: FileInfo,
    /// What applying it did (JSON counts), once completed.
    pub outcome: Option<serde_json::Value>,
}

impl Service {
    /// Imports from Wonde: every approved school, or those named; `full`
    /// ignores the last successful import and fetches everything.
    pub fn import(&self, schools: &[String], full: bool) -> Result<ActionResult> {
        self.import_with_progress(schools, full, None)
    }

    /// [`Service::import`], telling `progress` about each school as it ends.
    pub fn import_with_progress(
        &self,
        schools: &[String],
        full: bool,
        progress: Option<Progress>,
    ) -> Result<ActionResult> {
        let mut params = vec![("full".to_string(), full.to_string())];
        if !schools.is_empty() {
            params.push(("school".to_string(), schools.join(",")));
        }
        self.run_action_with(
            WONDE_IMPORT,
            &params,
            RunOptions {
                env: crate::engine::RunEnv {
                    progress,
                    ..Default::default()
                },
                ..RunOptions::default()
            },
        )
    }

    /// Points the import at a Wonde endpoint (the real API, a region's, or
    /// the sandbox): sets `wonde.base_url`, grants `wonde-import` that host,
    /// and stores the token when one is given.
    pub fn point_wonde_at(&self, base_url: &str, token: Option<&str>) -> Result<()> {
        let url = url::Url::parse(base_url.trim())
            .map_err(|e| Error::invalid(format!("`{base_url}` is not a URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| Error::invalid(format!("`{base_url}` names no host")))?;
        if url.scheme() != "https" && !(url.scheme() == "http" && crate::net::is_loopback(host)) {
            return Err(Error::invalid(format!(
                "`{base_url}` must be an https:// URL: the Wonde token is never sent over plain http \
                 except to this machine (http://127.0.0.1 or localhost)"
            )));
        }
        self.set_default("wonde.base_url", base_url)?;
        self.grant(
            WONDE_IMPORT,
            &[Capability::Http(host.to_ascii_lowercase())],
            false,
        )?;
        if let Some(token) = token {
            Secrets::for_db(self.db.path()).set("wonde", token, None)?;
        }
        Ok(())
    }

    /// One import file with what applying it did.
    pub fn file(&self, id: i64) -> Result<FileDetail> {
        let (file, outcome) = files::get(&self.conn, id)?;
        Ok(FileDetail {
            file,
            outcome: outcome.and_then(|o| serde_json::from_str(&o).ok()),
        })
    }

    /// Open unmatched records, optionally one school's.
    pub fn unmatched(&self, school: Option<&str>, limit: u32) -> Result<Vec<Unmatched>> {
        let school_id = school.map(|s| self.school(s)).transpose()?.map(|s| s.id);
        unmatched::list(&self.conn, school_id, limit)
    }

    /// One unmatched record with its candidates' held records, for the
    /// person deciding whether it is one of them.
    pub fn unmatched_detail(&self, id: i64) -> Result<UnmatchedDetail> {
        let record = unmatched::get(&self.conn, id)?;
        let candidates = record
            .candidates
            .iter()
            .map(|c| Ok((c.clone(), students::get(&self.conn, c.student_id)?)))
            .collect::<Result<_>>()?;
        let same_guid = match record.status.as_str() {
            "open" => same_guid(&self.conn, &record)?
                .into_iter()
                .skip(1)
                .map(|(other, _, apart)| (other, apart))
                .collect(),
            _ => Vec::new(),
        };
        Ok(UnmatchedDetail {
            record,
            candidates,
            same_guid,
        })
    }

    /// Adds an unmatched student as a new held record; every open record of
    /// the same person (same GUID) is matched to it. Returns the new id.
    pub fn add_unmatched(&self, id: i64) -> Result<i64> {
        in_transaction(&self.conn, |conn| self.place_person(conn, id, None))
    }

    /// Matches an unmatched record (and the same person's others) to a held
    /// student: their ids are linked with the UPN they came with (a person
    /// vouched for the pairing), and their data is compared with the held
    /// record now under the processing rules, raising conflicts as an
    /// import would.
    pub fn match_unmatched(&self, id: i64, student: i64) -> Result<()> {
        in_transaction(&self.conn, |conn| {
            students::get(conn, student)?;
            self.place_person(conn, id, Some(student)).map(drop)
        })
    }

    /// Places unmatched record `id`, matched to `student` or added as new,
    /// with the open records carrying its person GUID that are plainly the
    /// same child (see [`crate::import::not_one_child`]); the others stay
    /// open. Returns the held student.
    fn place_person(
        &self,
        conn: &rusqlite::Connection,
        id: i64,
        student: Option<i64>,
    ) -> Result<i64> {
        let first = open_unmatched(conn, id)?;
        let status = if student.is_some() {
            "matched"
        } else {
            "added"
        };
        let mut held = student;
        for (record, incoming) in placed_together(conn, &first)? {
            let placed =
                crate::import::place(conn, record.school_id, &incoming, held, &self.actor)?;
            held = Some(placed);
            unmatched::resolve(conn, record.id, status, placed, self.actor.as_str())?;
            audit::record(
                conn,
                &self.actor,
                &format!("unmatched.{status}"),
                "unmatched",
                record.id,
                json!({"student": placed, "source_id": record.source_id}),
            )?;
        }
        held.ok_or_else(|| Error::invalid(format!("unmatched record {id} is not open")))
    }

    /// Every processing rule.
    pub fn rules(&self) -> Result<Vec<StoredRule>> {
        rules::list(&self.conn)
    }

    /// Sets (or with `None` removes) a processing rule for every school or one.
    pub fn set_rule(&self, school: Option<&str>, target: &str, rule: Option<Rule>) -> Result<()> {
        let school_id = school.map(|s| self.school(s)).transpose()?.map(|s| s.id);
        in_transaction(&self.conn, |conn| {
            rules::set(conn, school_id, target, rule, &self.actor)
        })
    }

    /// Sets whether a school's unmatched students are added as new records.
    pub fn set_add_unmatched(&self, school: &str, add: bool) -> Result<()> {
        let s = self.school(school)?;
        in_transaction(&self.conn, |conn| {
            schools::set_add_unmatched(conn, s.id, add)?;
            audit::record(
                conn,
                &self.actor,
                "school.add_unmatched",
                "school",
                s.id,
                json!({"add": add}),
            )
        })
    }

    /// Deletions at source, newest first.
    pub fn deletions(&self, limit: u32) -> Result<Vec<deletions::Deletion>> {
        deletions::list(&self.conn, limit)
    }
}

/// The record as it came in.
fn incoming_of(record: &Unmatched) -> Result<IncomingStudent> {
    serde_json::from_str(&record.data).map_err(|e| {
        Error::Database(format!(
            "unmatched record {} holds unreadable data: {e}",
            record.id
        ))
    })
}

/// The open records that carry `first`'s person GUID, `first` first, each
/// with why it would not be placed with `first` (none: it would be).
fn same_guid(
    conn: &rusqlite::Connection,
    first: &Unmatched,
) -> Result<Vec<(Unmatched, IncomingStudent, Option<String>)>> {
    let chosen = incoming_of(first)?;
    unmatched::same_guid(conn, first)?
        .into_iter()
        .map(|record| {
            let incoming = incoming_of(&record)?;
            let apart = (record.id != first.id)
                .then(|| crate::import::not_one_child(&chosen, &incoming))
                .flatten();
            Ok((record, incoming, apart))
        })
        .collect()
}

/// The records placed with `first`: it, and the same-GUID records that are
/// plainly the same child.
fn placed_together(
    conn: &rusqlite::Connection,
    first: &Unmatched,
) -> Result<Vec<(Unmatched, IncomingStudent)>> {
    Ok(same_guid(conn, first)?
        .into_iter()
        .filter(|(_, _, apart)| apart.is_none())
        .map(|(record, incoming, _)| (record, incoming))
        .collect())
}

fn open_unmatched(conn: &rusqlite::Connection, id: i64) -> Result<Unmatched> {
    let u = unmatched::get(conn, id)?;
    if u.status != "open" {
        return Err(Error::invalid(format!(
            "unmatched record {id} is already {} (student {})",
            u.status,
            u.student_id.unwrap_or(0)
        )));
    }
    Ok(u)
}
