//! `b2b:plugin/incoming`: the import pipeline's entry points.

use super::{bounded, HostContext};
use crate::import::{self, IncomingStudent, SourceSchool};
use crate::plugins::capability::Capability;
use crate::world::b2b::plugin::incoming::{Contact, Host, Outcome, School, SchoolState, Student};
use crate::world::CallError;
use rusqlite::Connection;

/// How far before the last successful import a delta starts.
const DELTA_OVERLAP_SECS: i64 = 300;
/// The most of a plugin's reason for a failed file the host keeps.
const MAX_REASON_BYTES: usize = 16 << 10;

impl HostContext {
    /// The connection and the import session, if `import` was granted.
    fn importing(&mut self, call: &str) -> Result<(&Connection, &mut import::Session), CallError> {
        self.check_grant(Capability::Import, call)?;
        self.writing()?;
        Ok((self.conn.as_ref().expect("checked above"), &mut self.import))
    }
}

impl Host for HostContext {
    fn sync_schools(&mut self, list: Vec<School>) -> Result<Vec<SchoolState>, CallError> {
        bounded("schools", list.len())?;
        let ids: Vec<String> = list.iter().map(|s| s.source_id.clone()).collect();
        let (conn, session) = self.importing("incoming.sync-schools")?;
        let states =
            session.sync_schools(conn, list.into_iter().map(SourceSchool::from).collect())?;
        Ok(ids
            .into_iter()
            .zip(states)
            .map(|(source_id, state)| SchoolState {
                source_id,
                // A change made while the last import ran, or stamped in the
                // same second, must not be missed: re-fetching a few minutes
                // twice costs little, as the cache skips what is unchanged.
                last_success: state.last_success.map(|t| t - DELTA_OVERLAP_SECS),
                active: state.active,
            })
            .collect())
    }

    fn begin(&mut self, school: String, full: bool) -> Result<i64, CallError> {
        let (conn, session) = self.importing("incoming.begin")?;
        Ok(session.begin(conn, &school, full)?)
    }

    fn store(&mut self, file: i64, chunk: Vec<u8>) -> Result<(), CallError> {
        let chunk = self.log.redacted_bytes(&chunk).into_owned();
        let (_, session) = self.importing("incoming.store")?;
        Ok(session.store(file, &chunk)?)
    }

    fn submit(&mut self, file: i64, students: Vec<Student>) -> Result<(), CallError> {
        bounded("students", students.len())?;
        let (_, session) = self.importing("incoming.submit")?;
        Ok(session.submit(
            file,
            students.into_iter().map(IncomingStudent::from).collect(),
        )?)
    }

    fn deleted(&mut self, file: i64, source_ids: Vec<String>) -> Result<(), CallError> {
        bounded("source-ids", source_ids.len())?;
        let (_, session) = self.importing("incoming.deleted")?;
        Ok(session.deleted(file, source_ids)?)
    }

    fn finish(&mut self, file: i64) -> Result<Outcome, CallError> {
        // A file is applied now, in its own transaction, against the
        // database as it is; writes staged before it would be applied over
        // it at the run's end, from a view that did not see it.
        if !self.staged.is_empty() {
            return Err(CallError::invalid(
                "a run that has changed conflicts, files or cache cannot then apply an import file; \
                 apply the files first, or make the changes a separate action",
            ));
        }
        let actor = self.actor.clone();
        let (conn, session) = self.importing("incoming.finish")?;
        let o = session.finish(conn, file, &actor)?;
        Ok(Outcome {
            received: o.received,
            matched: o.matched,
            added: o.added,
            unmatched: o.unmatched,
            too_old: o.too_old,
            conflicts: o.conflicts,
            updated: o.updated,
            unchanged: o.unchanged,
            deleted: o.deleted,
        })
    }

    fn fail(&mut self, file: i64, reason: String) -> Result<(), CallError> {
        // The reason becomes the file's error log, which people read.
        let reason = self.log.kept(&reason, MAX_REASON_BYTES);
        let (conn, session) = self.importing("incoming.fail")?;
        Ok(session.fail(conn, file, &reason)?)
    }
}

impl From<School> for SourceSchool {
    fn from(s: School) -> Self {
        SourceSchool {
            source_id: s.source_id,
            name: s.name,
            urn: s.urn,
            la_code: s.la_code,
            establishment_number: s.establishment_number,
            region_domain: s.region_domain,
        }
    }
}

impl From<Student> for IncomingStudent {
    fn from(s: Student) -> Self {
        IncomingStudent {
            source_id: s.source_id,
            upi: s.upi,
            items: s.items,
            contacts: s
                .contacts
                .map(|list| list.into_iter().map(import::Contact::from).collect()),
        }
    }
}

impl From<Contact> for import::Contact {
    fn from(c: Contact) -> Self {
        import::Contact {
            name: c.name,
            relationship: c.relationship,
            phone: c.phone,
            email: c.email,
            parental_responsibility: c.parental_responsibility,
        }
    }
}
