//! Matching an incoming student to a held one, in the order DESIGN.md
//! section 4 gives: external id / GUID, then UPN plus three of (date of
//! birth, surname, forename, gender), then all four of those. A rule that
//! finds more than one held student does not match: a person decides.

use super::IncomingStudent;
use crate::error::Result;
use crate::storage::students::{self, Identity};
use b2b_normalise::{same, ItemKind};
use rusqlite::Connection;

/// Which rule matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The source's id or the person GUID was linked before.
    ExternalId,
    /// UPN and three of the four identifying items.
    UpnPlusThree,
    /// All four identifying items.
    AllFour,
}

/// Matching settings (System Defaults).
pub struct Settings {
    /// Try external ids / GUIDs first.
    pub guid: bool,
    /// Only active held students match.
    pub active_only: bool,
}

/// The external id sources the import links.
pub const SOURCE_ID: &str = "wonde";
/// The person GUID source.
pub const UPI: &str = "upi";

/// Finds the held student an incoming one is, if exactly one rule says so.
pub fn find(
    conn: &Connection,
    s: &IncomingStudent,
    settings: &Settings,
) -> Result<Option<(i64, Rule)>> {
    if settings.guid {
        if let Some(id) =
            students::by_external(conn, SOURCE_ID, &s.source_id, settings.active_only)?
        {
            return Ok(Some((id, Rule::ExternalId)));
        }
        if let Some(upi) = s.upi.as_deref().filter(|u| !u.trim().is_empty()) {
            if let Some(id) = students::by_external(conn, UPI, upi, settings.active_only)? {
                return Ok(Some((id, Rule::ExternalId)));
            }
        }
    }
    if let Some(upn) = s.item("identifiers.upn").filter(|u| !u.trim().is_empty()) {
        let candidates = students::with_upn(conn, upn, settings.active_only)?;
        if let Some(id) = only(candidates.iter().filter(|c| agreeing(c, s) >= 3)) {
            return Ok(Some((id, Rule::UpnPlusThree)));
        }
    }
    if let Some(dob) = s.item("basic.date_of_birth") {
        let candidates = students::born_on(conn, dob, settings.active_only)?;
        if let Some(id) = only(candidates.iter().filter(|c| agreeing(c, s) == 4)) {
            return Ok(Some((id, Rule::AllFour)));
        }
    }
    Ok(None)
}

/// The id of the one candidate left, if exactly one is.
fn only<'a>(mut candidates: impl Iterator<Item = &'a Identity>) -> Option<i64> {
    match (candidates.next(), candidates.next()) {
        (Some(c), None) => Some(c.id),
        _ => None,
    }
}

/// How many of the four identifying items agree (an item missing on either
/// side does not agree).
fn agreeing(held: &Identity, s: &IncomingStudent) -> usize {
    [
        (ItemKind::Date, &held.date_of_birth, "basic.date_of_birth"),
        (ItemKind::Name, &held.surname, "basic.surname"),
        (ItemKind::Name, &held.forename, "basic.forename"),
        (ItemKind::Code, &held.gender, "basic.gender"),
    ]
    .into_iter()
    .filter(|(kind, held, key)| match (held.as_deref(), s.item(key)) {
        (Some(h), Some(i)) if !h.trim().is_empty() => same(*kind, Some(h), Some(i)),
        _ => false,
    })
    .count()
}
