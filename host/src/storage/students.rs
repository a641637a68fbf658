//! The LA's held student records.
//!
//! Items are read and written by key through the catalogue in `items.rs`, so
//! the only column names that reach SQL are the catalogue's own.

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::items::{self, Item, ItemKind, ITEMS};
use crate::storage::audit;
use crate::time;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// A held student with every data item.
#[derive(Debug, Clone, Serialize)]
pub struct Student {
    /// Host id.
    pub id: i64,
    /// The school the student attends, if known.
    pub school_id: Option<i64>,
    /// Whether the record is active.
    pub active: bool,
    /// Every item of the catalogue, in catalogue order, with its held value.
    pub items: Vec<(&'static str, Option<String>)>,
}

impl Student {
    /// The held value of an item.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    /// "Surname, Forename", for listings.
    pub fn display_name(&self) -> String {
        format!(
            "{}, {}",
            self.value("basic.surname").unwrap_or("?"),
            self.value("basic.forename").unwrap_or("?")
        )
    }
}

fn select_columns() -> String {
    let cols: Vec<&str> = ITEMS.iter().map(|i| i.column).collect();
    format!("id, school_id, active, {}", cols.join(", "))
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Student> {
    let mut values = Vec::with_capacity(ITEMS.len());
    for (n, item) in ITEMS.iter().enumerate() {
        values.push((item.key, r.get::<_, Option<String>>(3 + n)?));
    }
    Ok(Student {
        id: r.get(0)?,
        school_id: r.get(1)?,
        active: r.get(2)?,
        items: values,
    })
}

/// Adds a student with the given item values (unknown keys are refused);
/// returns the new id.
pub fn insert(
    conn: &Connection,
    school_id: Option<i64>,
    values: &[(&str, Option<&str>)],
) -> Result<i64> {
    // One statement whatever the items, so an import adding thousands of
    // students stays one row write each. Column names come from the catalogue.
    let mut columns = vec!["school_id", "created_at", "updated_at"];
    let now = time::now();
    let mut params: Vec<rusqlite::types::Value> = vec![school_id.into(), now.into(), now.into()];
    for (key, value) in values {
        let item = items::lookup(key)?;
        if columns.contains(&item.column) {
            return Err(Error::invalid(format!("{key} is given twice")));
        }
        columns.push(item.column);
        params.push(
            value
                .map(|v| normalise_for_storage(item, v))
                .transpose()?
                .into(),
        );
    }
    let sql = format!(
        "INSERT INTO students ({}) VALUES ({})",
        columns.join(", "),
        vec!["?"; columns.len()].join(", ")
    );
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(params))?;
    Ok(conn.last_insert_rowid())
}

/// One student, or a message saying it does not exist.
pub fn get(conn: &Connection, id: i64) -> Result<Student> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM students WHERE id = ?",
        select_columns()
    ))?
    .query_row([id], from_row)
    .optional()?
    .ok_or_else(|| Error::not_found(format!("no student {id}; see `b2b students list`")))
}

/// Filters for listing students.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this school's.
    pub school_id: Option<i64>,
    /// Surname, forename or UPN containing this text (case-insensitive).
    pub search: Option<String>,
}

/// Students matching a filter, by surname, at most `limit`.
pub fn list(conn: &Connection, filter: &Filter, limit: u32) -> Result<Vec<Student>> {
    let like = filter.search.as_ref().map(|s| format!("%{}%", s.trim()));
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM students
         WHERE (?1 IS NULL OR school_id = ?1)
           AND (?2 IS NULL OR surname LIKE ?2 OR forename LIKE ?2 OR upn LIKE ?2)
         ORDER BY surname, forename, id LIMIT ?3",
        select_columns()
    ))?;
    let rows = stmt.query_map(params![filter.school_id, like, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The held value of one item of one student (`None` when empty or when the
/// student does not exist).
pub fn held_value(conn: &Connection, student_id: i64, item: &Item) -> Result<Option<String>> {
    let value: Option<Option<String>> = conn
        .prepare_cached(&format!(
            "SELECT {} FROM students WHERE id = ?",
            item.column
        ))?
        .query_row([student_id], |r| r.get(0))
        .optional()?;
    Ok(value.flatten())
}

fn write_item(conn: &Connection, id: i64, item: &Item, value: Option<&str>) -> Result<()> {
    conn.prepare_cached(&format!(
        "UPDATE students SET {} = ?, updated_at = ? WHERE id = ?",
        item.column
    ))?
    .execute(params![value, time::now(), id])?;
    Ok(())
}

/// Checks and tidies a value a person or a conflict is about to store: dates
/// must be real `YYYY-MM-DD` dates, flags become `true`/`false`, and
/// surrounding spaces go. An empty value stores as empty (`None`).
pub fn normalise_for_storage(item: &Item, raw: &str) -> Result<String> {
    let v = raw.trim();
    match item.kind {
        ItemKind::Date => parse_date(v)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{} must be a date written YYYY-MM-DD (or DD/MM/YYYY), got `{v}`",
                    item.key
                ))
            }),
        ItemKind::Flag => match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok("true".into()),
            "false" | "no" | "n" | "0" => Ok("false".into()),
            _ => Err(Error::invalid(format!(
                "{} must be true or false, got `{v}`",
                item.key
            ))),
        },
        // Postcodes and pupil numbers are stored upper-case, so that
        // matching can look them up by index rather than scan.
        ItemKind::Postcode => Ok(v.to_ascii_uppercase()),
        ItemKind::Code if item.group == "identifiers" => Ok(v.to_ascii_uppercase()),
        _ => Ok(v.to_string()),
    }
}

/// A date as schools and people write it: `YYYY-MM-DD` (with or without a
/// time after it) or the UK's `DD/MM/YYYY`.
fn parse_date(v: &str) -> Option<chrono::NaiveDate> {
    let day = v.split([' ', 'T']).next().unwrap_or(v);
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(day, "%d/%m/%Y"))
        .ok()
}

/// Sets one item of a held record, audited with the old and new value.
/// Returns the value stored. `None` or an empty value empties the item.
/// Call it inside the caller's transaction so the change and its audit row
/// land together.
pub fn set_item(
    conn: &Connection,
    student_id: i64,
    key: &str,
    value: Option<&str>,
    actor: &Actor,
) -> Result<Option<String>> {
    let item = items::lookup(key)?;
    let value = match value.map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(normalise_for_storage(item, v)?),
    };
    let old = get(conn, student_id)?.value(key).map(str::to_string);
    write_item(conn, student_id, item, value.as_deref())?;
    audit::record(
        conn,
        actor,
        "student.edit",
        "student",
        student_id,
        serde_json::json!({"item": key, "old": old, "new": value}),
    )?;
    Ok(value)
}

/// Links an id another system gives a held student (e.g. source `wonde`),
/// with the UPN the source sent alongside it: a later record with that id
/// and another UPN is not taken to be this student without a person.
pub fn link_external(
    conn: &Connection,
    source: &str,
    external_id: &str,
    student_id: i64,
    upn: Option<&str>,
) -> Result<()> {
    let upn = upn.map(normalised_upn).filter(|u| !u.is_empty());
    conn.prepare_cached(
        "INSERT INTO external_ids (source, external_id, student_id, upn) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (source, external_id) DO UPDATE SET student_id = ?3, upn = ?4",
    )?
    .execute(params![source, external_id, student_id, upn])?;
    Ok(())
}

/// A held student another system's id points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The held student.
    pub student_id: i64,
    /// The UPN the source sent when the link was made (none for links made
    /// before UPNs were kept with them, or when none was sent).
    pub upn: Option<String>,
}

/// The held student another system's id points at (only an active one when
/// `active_only`).
pub fn by_external(
    conn: &Connection,
    source: &str,
    external_id: &str,
    active_only: bool,
) -> Result<Option<Link>> {
    Ok(conn
        .prepare_cached(
            "SELECT s.id, e.upn FROM external_ids e JOIN students s ON s.id = e.student_id
             WHERE e.source = ?1 AND e.external_id = ?2 AND (?3 = 0 OR s.active = 1)",
        )?
        .query_row(params![source, external_id, active_only], |r| {
            Ok(Link {
                student_id: r.get(0)?,
                upn: r.get(1)?,
            })
        })
        .optional()?)
}

/// A UPN as it is stored and compared: trimmed and upper-case.
pub fn normalised_upn(upn: &str) -> String {
    upn.trim().to_ascii_uppercase()
}

/// What identifies a held student, for matching.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The held student's id.
    pub id: i64,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Forename.
    pub forename: Option<String>,
    /// Gender code.
    pub gender: Option<String>,
    /// Unique Pupil Number, upper-case.
    pub upn: Option<String>,
    /// The UPN the pupil had before the current one, upper-case.
    pub former_upn: Option<String>,
}

const IDENTITY: &str =
    "SELECT id, date_of_birth, surname, forename, gender, upn, former_upn FROM students";

fn identities(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Identity>> {
    let mut stmt = conn.prepare_cached(&format!("{IDENTITY} WHERE {filter}"))?;
    let rows = stmt.query_map(params, |r| {
        Ok(Identity {
            id: r.get(0)?,
            date_of_birth: r.get(1)?,
            surname: r.get(2)?,
            forename: r.get(3)?,
            gender: r.get(4)?,
            upn: r.get(5)?,
            former_upn: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The identity of one held student, if it exists.
pub fn identity(conn: &Connection, id: i64) -> Result<Option<Identity>> {
    Ok(identities(conn, "id = ?1", [id])?.pop())
}

/// Held students whose UPN or former UPN is `upn`, or whose UPN is
/// `former_upn` (active ones only when `active_only`).
pub fn sharing_upn(
    conn: &Connection,
    upn: &str,
    former_upn: Option<&str>,
    active_only: bool,
) -> Result<Vec<Identity>> {
    identities(
        conn,
        "(upn = ?1 OR former_upn = ?1 OR upn = ?2) AND (?3 = 0 OR active = 1) ORDER BY id",
        params![
            normalised_upn(upn),
            former_upn.map(normalised_upn),
            active_only
        ],
    )
}

/// Held students born on a date (active ones only when `active_only`).
pub fn born_on(conn: &Connection, date_of_birth: &str, active_only: bool) -> Result<Vec<Identity>> {
    identities(
        conn,
        "date_of_birth = ?1 AND (?2 = 0 OR active = 1) ORDER BY id",
        params![date_of_birth, active_only],
    )
}
