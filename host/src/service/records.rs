//! Students, System Defaults, schools, files and run history: reads and
//! audited edits.

use super::Service;
use crate::error::{Error, Result};
use crate::storage::defaults::{self, Setting, Value};
use crate::storage::files::{self, FileInfo};
use crate::storage::in_transaction;
use crate::storage::runs::{self, Run};
use crate::storage::schools::{self, School};
use crate::storage::students::{self, Filter, Student};

impl Service {
    /// Students matching a filter.
    pub fn students(&self, filter: &Filter, limit: u32) -> Result<Vec<Student>> {
        students::list(&self.conn, filter, limit)
    }

    /// One held student with every item.
    pub fn student(&self, id: i64) -> Result<Student> {
        students::get(&self.conn, id)
    }

    /// Edits items of a held record (`item=value`, empty value to clear), all
    /// in one transaction, each audited. Returns the record afterwards.
    pub fn edit_student(&self, id: i64, changes: &[(String, String)]) -> Result<Student> {
        if changes.is_empty() {
            return Err(Error::invalid(
                "name at least one change as item=value, e.g. basic.surname=Smith",
            ));
        }
        in_transaction(&self.conn, |conn| {
            students::get(conn, id)?;
            for (item, value) in changes {
                students::set_item(conn, id, item, Some(value), &self.actor)?;
            }
            students::get(conn, id)
        })
    }

    /// Every System Default with its effective value.
    pub fn defaults(&self) -> Result<Vec<Setting>> {
        defaults::list(&self.conn)
    }

    /// One System Default's effective value.
    pub fn default_value(&self, key: &str) -> Result<Value> {
        defaults::get(&self.conn, key)
    }

    /// Sets a System Default (validated, audited).
    pub fn set_default(&self, key: &str, value: &str) -> Result<Value> {
        in_transaction(&self.conn, |conn| {
            defaults::set(conn, key, value, &self.actor)
        })
    }

    /// Every school the LA knows, by name.
    pub fn schools(&self) -> Result<Vec<School>> {
        schools::list(&self.conn)
    }

    /// A school by Wonde id, URN or number.
    pub fn school(&self, reference: &str) -> Result<School> {
        schools::resolve(&self.conn, reference)
    }

    /// The newest import files, optionally one school's.
    pub fn files(&self, school: Option<&str>, limit: u32) -> Result<Vec<FileInfo>> {
        let school_id = school.map(|s| self.school(s)).transpose()?.map(|s| s.id);
        files::recent(&self.conn, school_id, limit)
    }

    /// The newest action runs, optionally of one plugin.
    pub fn runs(&self, plugin: Option<&str>, limit: u32) -> Result<Vec<Run>> {
        runs::list(&self.conn, plugin, limit)
    }

    /// One action run with its log.
    pub fn run(&self, id: i64) -> Result<Run> {
        runs::get(&self.conn, id)
    }
}
