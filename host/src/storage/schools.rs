//! Schools (bases) that send data.

use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// A school as held.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct School {
    /// This host's number for it, one of the ways a person names it.
    pub id: i64,
    /// Wonde's id for the school.
    pub wonde_id: Option<String>,
    /// Its name, as its source last described it.
    pub name: String,
    /// The DfE Unique Reference Number.
    pub urn: Option<i64>,
    /// LA code.
    pub la_code: Option<String>,
    /// The DfE establishment number within the LA.
    pub establishment_number: Option<String>,
    /// The Wonde API domain that serves this school.
    pub region_domain: Option<String>,
    /// Whether data is still imported from it.
    pub active: bool,
    /// Whether unmatched incoming students are added as new held records.
    pub add_unmatched: bool,
    /// When its last successful import started.
    pub last_success_at: Option<crate::time::Timestamp>,
}

/// A school as its source describes it.
#[derive(Debug, Clone, Default)]
pub struct NewSchool<'a> {
    /// Wonde's id: what the school is known by.
    pub wonde_id: &'a str,
    /// Its name, as the source describes it.
    pub name: &'a str,
    /// URN.
    pub urn: Option<i64>,
    /// LA code.
    pub la_code: Option<&'a str>,
    /// The DfE establishment number within the LA.
    pub establishment_number: Option<&'a str>,
    /// The API domain that serves it.
    pub region_domain: Option<&'a str>,
}

const COLUMNS: &str =
    "id, wonde_id, name, urn, la_code, establishment_number, region_domain, active, add_unmatched, last_success_at";

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
        add_unmatched: r.get(8)?,
        last_success_at: r.get(9)?,
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

/// Adds a school the source lists, or refreshes the one with its source id;
/// returns it as held.
pub fn upsert(conn: &Connection, s: &NewSchool) -> Result<School> {
    conn.prepare_cached(
        "INSERT INTO schools (wonde_id, name, urn, la_code, establishment_number, region_domain)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (wonde_id) DO UPDATE SET name = ?2, urn = ?3, la_code = ?4,
             establishment_number = ?5, region_domain = ?6",
    )?
    .execute(params![
        s.wonde_id,
        s.name,
        s.urn,
        s.la_code,
        s.establishment_number,
        s.region_domain
    ])?;
    by_source_id(conn, s.wonde_id)
}

/// The school with a host id.
pub fn get(conn: &Connection, id: i64) -> Result<School> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM schools WHERE id = ?"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("no school {id}; see `b2b schools list`")))
}

/// The school with a source (Wonde) id, if held.
pub fn find_by_source_id(conn: &Connection, wonde_id: &str) -> Result<Option<School>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM schools WHERE wonde_id = ?"))?
        .query_row([wonde_id], from_row)
        .optional()?)
}

/// The school with a source (Wonde) id.
pub fn by_source_id(conn: &Connection, wonde_id: &str) -> Result<School> {
    find_by_source_id(conn, wonde_id)?.ok_or_else(|| {
        Error::not_found(format!(
            "no school with Wonde id `{wonde_id}`; see `b2b schools list`"
        ))
    })
}

/// Records when the school's last successful import started.
pub fn set_last_success(conn: &Connection, id: i64, at: crate::time::Timestamp) -> Result<()> {
    conn.execute(
        "UPDATE schools SET last_success_at = ? WHERE id = ?",
        params![at, id],
    )?;
    Ok(())
}

/// Sets whether unmatched students of a school are added as new held records.
pub fn set_add_unmatched(conn: &Connection, id: i64, add: bool) -> Result<()> {
    conn.execute(
        "UPDATE schools SET add_unmatched = ? WHERE id = ?",
        params![add, id],
    )?;
    Ok(())
}
