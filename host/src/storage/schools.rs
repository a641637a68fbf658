//! Schools (bases) that send data.

use crate::error::{Error, Result};
use rusqlite::{params, Connection};
use serde::Serialize;

/// A school as held.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct School {
    /// Host id.
    pub id: i64,
    /// Wonde's id for the school.
    pub wonde_id: Option<String>,
    /// Name.
    pub name: String,
    /// The DfE Unique Reference Number.
    pub urn: Option<i64>,
    /// LA code.
    pub la_code: Option<String>,
    /// Establishment number.
    pub establishment_number: Option<String>,
    /// The Wonde API domain that serves this school.
    pub region_domain: Option<String>,
    /// Whether data is still imported from it.
    pub active: bool,
}

/// A school to add.
#[derive(Debug, Clone, Default)]
pub struct NewSchool<'a> {
    /// Wonde's id.
    pub wonde_id: Option<&'a str>,
    /// Name.
    pub name: &'a str,
    /// URN.
    pub urn: Option<i64>,
    /// LA code.
    pub la_code: Option<&'a str>,
    /// Establishment number.
    pub establishment_number: Option<&'a str>,
}

/// Adds a school; returns its id.
pub fn insert(conn: &Connection, s: &NewSchool) -> Result<i64> {
    conn.execute(
        "INSERT INTO schools (wonde_id, name, urn, la_code, establishment_number) VALUES (?, ?, ?, ?, ?)",
        params![s.wonde_id, s.name, s.urn, s.la_code, s.establishment_number],
    )?;
    Ok(conn.last_insert_rowid())
}

const COLUMNS: &str =
    "id, wonde_id, name, urn, la_code, establishment_number, region_domain, active";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<School> {
    Ok(School {
        id: r.get(0)?,
        wonde_id: r.get(1)?,
        name: r.get(2)?,
        urn: r.get(3)?,
        la_code: r.get(4)?,
        establishment_number: r.get(5)?,
        region_domain: r.get(6)?,
        active: r.get(7)?,
    })
}

/// Every school, by name.
pub fn list(conn: &Connection) -> Result<Vec<School>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM schools ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Finds a school by what a person knows it by: its Wonde id, its URN or its
/// host id. An ambiguous or unknown reference is refused with the reason.
pub fn resolve(conn: &Connection, reference: &str) -> Result<School> {
    let reference = reference.trim();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM schools
         WHERE wonde_id = ?1 OR CAST(urn AS TEXT) = ?1 OR CAST(id AS TEXT) = ?1"
    ))?;
    let found: Vec<School> = stmt
        .query_map([reference], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one row")),
        0 => Err(Error::not_found(format!(
            "no school `{reference}`; name a school by its Wonde id, URN or number (see `b2b schools list`)"
        ))),
        _ => Err(Error::invalid(format!(
            "`{reference}` names more than one school ({}); use the Wonde id instead",
            found.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}
