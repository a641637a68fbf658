//! Wonde's JSON pages read and turned into the host's canonical records.
//!
//! This is the pure half of the Wonde import: a response body in, records
//! out, no host calls. It is a crate of its own rather than modules of the
//! `wonde-import` plugin so that it builds natively as well as for
//! wasm32-wasip2: its tests run natively, and `tests/benches/mapping.rs`
//! times the very same code both ways.
#![deny(missing_docs)]

mod mapping;
mod wire;

use b2b_plugin_sdk::incoming;
use serde::Deserialize;

/// One page of a Wonde list, mapped.
#[derive(Debug)]
pub struct Page<T> {
    /// The entries that could be mapped, in the order Wonde sent them.
    pub records: Vec<T>,
    /// Entries left out: those without an id (and, in a page of deletions,
    /// those that are not a student's).
    pub skipped: usize,
    /// The URL of the next page, if Wonde says there is one.
    pub next: Option<String>,
}

/// A page of `GET schools`.
pub fn schools_page(body: &[u8]) -> Result<Page<incoming::School>, serde_json::Error> {
    page(body, mapping::school)
}

/// A page of `GET schools/{id}/students`, with the includes the import asks
/// for.
pub fn students_page(body: &[u8]) -> Result<Page<incoming::Student>, serde_json::Error> {
    page(body, mapping::student)
}

/// A page of `GET schools/{id}/deletions`: the ids of the deleted students.
pub fn deleted_students_page(body: &[u8]) -> Result<Page<String>, serde_json::Error> {
    page(body, mapping::deleted_student)
}

/// `body` read as a list of `W`, each entry turned into a record by `map`.
/// The body is parsed once; strings are copied only into the records.
fn page<'a, W: Deserialize<'a> + Default, T>(
    body: &'a [u8],
    map: impl Fn(&W) -> Option<T>,
) -> Result<Page<T>, serde_json::Error> {
    let parsed: wire::Page<W> = serde_json::from_slice(body)?;
    let records: Vec<T> = wire::entries(&parsed.data).filter_map(map).collect();
    Ok(Page {
        skipped: wire::entries(&parsed.data).count() - records.len(),
        next: parsed.next().map(str::to_owned),
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn students_without_id_are_counted_and_the_next_link_kept() {
        let page = students_page(
            br#"{"data": [{"id": "A1"}, null, {"id": " "}, {"forename": "Ruth"}],
                 "meta": {"pagination": {"next": "https://x/v1.0/p?page=2", "more": true}}}"#,
        )
        .unwrap();
        let ids: Vec<_> = page.records.iter().map(|s| s.source_id.as_str()).collect();
        assert_eq!(ids, ["A1"]);
        assert_eq!(page.skipped, 2);
        assert_eq!(page.next.as_deref(), Some("https://x/v1.0/p?page=2"));
    }

    #[test]
    fn deletions_keep_student_ids() {
        let page = deleted_students_page(
            br#"{"data": [{"id": "A1", "type": "student", "deleted_at": {"date": "2024-07-20 10:00:00.000000"}},
                         {"id": "B2", "type": "employee"}, {"id": "C3"}, {"id": null}, null],
                "meta": {"pagination": {"next": null, "previous": null, "more": false, "per_page": 50, "current_page": 1}}}"#,
        )
        .unwrap();
        assert_eq!(page.records, ["A1", "C3"]);
        assert_eq!(page.skipped, 2);
        assert_eq!(page.next, None);
    }

    #[test]
    fn schools_page_maps_schools() {
        let page = schools_page(br#"{"data": [{"id": "A1", "name": "Example Academy"}]}"#).unwrap();
        assert_eq!(page.records[0].name, "Example Academy");
    }
}
