//! Matching an incoming student to a held one (docs/architecture.md, "The
//! import"): external id or GUID, then UPN plus three of date of birth,
//! surname, forename and gender, then all four of those.
//!
//! Attaching one child's data to another is the worst thing an import can
//! do, so matching errs towards asking a person:
//! - no rule matches across a disagreeing UPN (or former UPN), an external
//!   id included, unless a person linked that id with that UPN;
//! - a pupil added earlier in the same import is never evidence for the next
//!   (a school that sends one child twice must not be merged by inference);
//! - a rule matches only when it finds exactly one held pupil and no other
//!   held pupil nearly matched, by that rule or a stronger one (twins,
//!   duplicated held records and reused UPNs all go to a person).
//!
//! Every held pupil that nearly matched is named, with the reason it was not
//! taken, so the person placing the unmatched record sees the candidates.

use super::IncomingStudent;
use crate::error::Result;
use crate::storage::students::{self, normalised_upn, Identity};
use crate::storage::unmatched::Candidate;
use b2b_normalise::{same, ItemKind};
use rusqlite::Connection;
use std::collections::HashSet;

/// The held students an import run added. Matching never takes them as
/// evidence; a file that rolls back takes its additions back out.
#[derive(Default)]
pub struct Added {
    ids: HashSet<i64>,
    /// Added by the file being applied, not yet committed.
    uncommitted: Vec<i64>,
}

impl Added {
    /// Notes a student the file being applied added.
    pub fn insert(&mut self, id: i64) {
        self.ids.insert(id);
        self.uncommitted.push(id);
    }

    /// Whether this run added the student.
    pub fn contains(&self, id: i64) -> bool {
        self.ids.contains(&id)
    }

    /// The file's additions were committed.
    pub fn commit(&mut self) {
        self.uncommitted.clear();
    }

    /// The file's transaction rolled back: its additions never existed.
    pub fn roll_back(&mut self) {
        for id in self.uncommitted.drain(..) {
            self.ids.remove(&id);
        }
    }
}

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

/// What matching decided for one incoming student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// This held student, by this rule.
    Matched(i64, Rule),
    /// No rule matched, but these held students nearly did: a person decides.
    Near(Vec<Candidate>),
    /// Nothing held resembles the incoming student.
    New,
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

/// How the UPNs of a held and an incoming student relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upns {
    /// One side's UPN is the other's UPN or former UPN.
    Agree,
    /// Both sides have a UPN (or both a former UPN) and none of them agree.
    Disagree,
    /// Too little on one side to tell.
    Unknown,
}

/// The incoming student's UPNs, as held UPNs are stored.
struct IncomingUpns {
    upn: Option<String>,
    former: Option<String>,
}

impl IncomingUpns {
    fn of(s: &IncomingStudent) -> Self {
        let upn = |key| {
            s.item(key)
                .map(normalised_upn)
                .filter(|u: &String| !u.is_empty())
        };
        IncomingUpns {
            upn: upn("identifiers.upn"),
            former: upn("identifiers.former_upn"),
        }
    }

    fn relation(&self, held: &Identity) -> Upns {
        let held_upn = held.upn.as_deref().filter(|u| !u.is_empty());
        let held_former = held.former_upn.as_deref().filter(|u| !u.is_empty());
        let (upn, former) = (self.upn.as_deref(), self.former.as_deref());
        let equal = |a: Option<&str>, b: Option<&str>| a.is_some() && a == b;
        // A pupil's UPN can become their former UPN, never another pupil's.
        if equal(upn, held_upn) || equal(upn, held_former) || equal(former, held_upn) {
            Upns::Agree
        } else if upn.is_some() && held_upn.is_some() {
            Upns::Disagree
        } else if equal(former, held_former) {
            Upns::Agree
        } else if former.is_some() && held_former.is_some() {
            Upns::Disagree
        } else {
            Upns::Unknown
        }
    }

    /// "the school sends UPN X where the LA holds Y", for a reason.
    fn differ(&self, held: &Identity) -> String {
        let shown = |u: Option<&str>| u.unwrap_or("none").to_string();
        format!(
            "the school sends UPN {} (former {}) where the LA holds {} (former {})",
            shown(self.upn.as_deref()),
            shown(self.former.as_deref()),
            shown(held.upn.as_deref()),
            shown(held.former_upn.as_deref())
        )
    }
}

/// Finds the held student an incoming one is, in one import run.
pub struct Matcher<'a> {
    conn: &'a Connection,
    settings: &'a Settings,
    /// Held students this import added: never evidence for another record.
    added: &'a Added,
}

/// The candidates gathered so far, each held student named once.
#[derive(Default)]
struct Near(Vec<Candidate>);

impl Near {
    fn add(&mut self, student_id: i64, reason: String) {
        if !self.0.iter().any(|c| c.student_id == student_id) {
            self.0.push(Candidate { student_id, reason });
        }
    }

    fn names(&self, student_id: i64) -> bool {
        self.0.iter().any(|c| c.student_id == student_id)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> Matcher<'a> {
    /// A matcher over `conn`, never matching by inference to `added`.
    pub fn new(conn: &'a Connection, settings: &'a Settings, added: &'a Added) -> Self {
        Matcher {
            conn,
            settings,
            added,
        }
    }

    /// Decides which held student `s` is: one a rule matched with nothing
    /// stronger against it, the near candidates, or none.
    pub fn find(&self, s: &IncomingStudent) -> Result<Decision> {
        let upns = IncomingUpns::of(s);
        let mut near = Near::default();
        if self.settings.guid {
            if let Some(id) = self.by_link(s, &upns, &mut near)? {
                return Ok(Decision::Matched(id, Rule::ExternalId));
            }
        }
        if let Some(id) = self.by_upn(s, &upns, &mut near)? {
            return Ok(Decision::Matched(id, Rule::UpnPlusThree));
        }
        if let Some(id) = self.by_all_four(s, &upns, &mut near)? {
            return Ok(Decision::Matched(id, Rule::AllFour));
        }
        Ok(match near.0 {
            candidates if candidates.is_empty() => Decision::New,
            candidates => Decision::Near(candidates),
        })
    }

    /// The student the source's id, or else the person GUID, is linked to,
    /// when the UPNs do not disagree (or a person linked it with this UPN).
    fn by_link(
        &self,
        s: &IncomingStudent,
        upns: &IncomingUpns,
        near: &mut Near,
    ) -> Result<Option<i64>> {
        let ids = [
            (SOURCE_ID, "the school's id", Some(s.source_id.as_str())),
            (UPI, "the person GUID", s.upi.as_deref()),
        ];
        for (source, what, id) in ids {
            let Some(id) = id.filter(|i| !i.trim().is_empty()) else {
                continue;
            };
            let Some(link) =
                students::by_external(self.conn, source, id, self.settings.active_only)?
            else {
                continue;
            };
            let Some(held) = students::identity(self.conn, link.student_id)? else {
                continue;
            };
            let vouched = link.upn.is_some() && link.upn == upns.upn;
            if vouched || upns.relation(&held) != Upns::Disagree {
                return Ok(Some(held.id));
            }
            near.add(
                held.id,
                format!(
                    "{what} {id} is linked to this pupil, but {}",
                    upns.differ(&held)
                ),
            );
            return Ok(None);
        }
        Ok(None)
    }

    /// The one held student sharing the UPN who agrees on three of the four
    /// identifying items.
    fn by_upn(
        &self,
        s: &IncomingStudent,
        upns: &IncomingUpns,
        near: &mut Near,
    ) -> Result<Option<i64>> {
        let Some(upn) = upns.upn.as_deref() else {
            return Ok(None);
        };
        let candidates = students::sharing_upn(
            self.conn,
            upn,
            upns.former.as_deref(),
            self.settings.active_only,
        )?;
        let mut chosen = Vec::new();
        for held in &candidates {
            if near.names(held.id) {
                continue;
            }
            let agree = agreeing(held, s);
            if self.added.contains(held.id) {
                near.add(held.id, added_earlier("shares the UPN"));
            } else if agree >= 3 {
                chosen.push(held.id);
            } else {
                near.add(
                    held.id,
                    format!("shares the UPN, but only {agree} of date of birth, surname, forename and gender agree (3 are needed)"),
                );
            }
        }
        Ok(self.only(
            chosen,
            near,
            "the UPN and three or more of date of birth, surname, forename and gender agree",
        ))
    }

    /// The one held student who agrees on all four identifying items with
    /// no disagreeing UPN. Look-alikes (three of four, or all four with
    /// another UPN, such as twins) are named as candidates.
    fn by_all_four(
        &self,
        s: &IncomingStudent,
        upns: &IncomingUpns,
        near: &mut Near,
    ) -> Result<Option<i64>> {
        let Some(dob) = s.item("basic.date_of_birth") else {
            return Ok(None);
        };
        let mut chosen = Vec::new();
        for held in students::born_on(self.conn, dob, self.settings.active_only)? {
            let agree = agreeing(&held, s);
            if agree < 3 || near.names(held.id) {
                continue;
            }
            if self.added.contains(held.id) {
                near.add(held.id, added_earlier(&agreement(&held, s)));
            } else if upns.relation(&held) == Upns::Disagree {
                near.add(
                    held.id,
                    format!("{}, but {}", agreement(&held, s), upns.differ(&held)),
                );
            } else if agree == 4 {
                chosen.push(held.id);
            } else {
                near.add(held.id, agreement(&held, s));
            }
        }
        Ok(self.only(
            chosen,
            near,
            "date of birth, surname, forename and gender all agree",
        ))
    }

    /// The one student a rule chose, unless another held student nearly
    /// matched (by this rule or a stronger one) or the rule chose several;
    /// then every one of them is named.
    fn only(&self, chosen: Vec<i64>, near: &mut Near, rule: &str) -> Option<i64> {
        match chosen[..] {
            [one] if near.is_empty() => Some(one),
            [_] => {
                let others = near
                    .0
                    .iter()
                    .map(|c| c.student_id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                near.add(
                    chosen[0],
                    format!("{rule}, but held pupil {others} nearly matches too"),
                );
                None
            }
            _ => {
                for id in chosen.iter().copied() {
                    near.add(id, format!("{rule} for {} held pupils", chosen.len()));
                }
                None
            }
        }
    }
}

/// Why a pupil added by this same import was not taken.
fn added_earlier(resemblance: &str) -> String {
    format!("{resemblance}, but was added earlier in this same import, which is no evidence that they are one child")
}

/// The four identifying items, with the incoming value's key.
fn four(held: &Identity) -> [(ItemKind, &Option<String>, &'static str, &'static str); 4] {
    [
        (
            ItemKind::Date,
            &held.date_of_birth,
            "basic.date_of_birth",
            "date of birth",
        ),
        (ItemKind::Name, &held.surname, "basic.surname", "surname"),
        (ItemKind::Name, &held.forename, "basic.forename", "forename"),
        (ItemKind::Code, &held.gender, "basic.gender", "gender"),
    ]
}

fn agrees(kind: ItemKind, held: &Option<String>, incoming: Option<&str>) -> bool {
    match (held.as_deref(), incoming) {
        (Some(h), Some(i)) if !h.trim().is_empty() => same(kind, Some(h), Some(i)),
        _ => false,
    }
}

/// How many of the four identifying items agree (an item missing on either
/// side does not agree).
fn agreeing(held: &Identity, s: &IncomingStudent) -> usize {
    four(held)
        .into_iter()
        .filter(|(kind, held, key, _)| agrees(*kind, held, s.item(key)))
        .count()
}

/// "same date of birth, surname and gender; forename differs", for a reason.
fn agreement(held: &Identity, s: &IncomingStudent) -> String {
    let (same, differ): (Vec<_>, Vec<_>) = four(held)
        .into_iter()
        .partition(|(kind, held, key, _)| agrees(*kind, held, s.item(key)));
    let names = |items: Vec<(ItemKind, &Option<String>, &str, &str)>| {
        items.iter().map(|i| i.3).collect::<Vec<_>>().join(", ")
    };
    if differ.is_empty() {
        format!("same {}", names(same))
    } else {
        format!("same {}; {} differ", names(same), names(differ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(upn: Option<&str>, former: Option<&str>) -> Identity {
        Identity {
            id: 1,
            date_of_birth: None,
            surname: None,
            forename: None,
            gender: None,
            upn: upn.map(String::from),
            former_upn: former.map(String::from),
        }
    }

    fn incoming(upn: Option<&str>, former: Option<&str>) -> IncomingUpns {
        IncomingUpns {
            upn: upn.map(String::from),
            former: former.map(String::from),
        }
    }

    #[test]
    fn upns_agree_through_a_former_upn() {
        let h = held(Some("A1"), Some("T9"));
        assert_eq!(incoming(Some("A1"), None).relation(&h), Upns::Agree);
        assert_eq!(incoming(Some("T9"), None).relation(&h), Upns::Agree);
        assert_eq!(incoming(Some("B2"), Some("A1")).relation(&h), Upns::Agree);
    }

    #[test]
    fn upns_disagree_only_when_both_sides_have_one() {
        let h = held(Some("A1"), None);
        assert_eq!(incoming(Some("B2"), None).relation(&h), Upns::Disagree);
        assert_eq!(incoming(None, None).relation(&h), Upns::Unknown);
        assert_eq!(incoming(None, Some("X")).relation(&h), Upns::Unknown);
        assert_eq!(
            incoming(None, Some("X")).relation(&held(None, Some("Y"))),
            Upns::Disagree
        );
        assert_eq!(
            incoming(Some("B2"), None).relation(&held(None, None)),
            Upns::Unknown
        );
    }

    #[test]
    fn a_shared_former_upn_agrees_only_when_the_current_ones_do_not_differ() {
        assert_eq!(
            incoming(Some("B2"), Some("T9")).relation(&held(None, Some("T9"))),
            Upns::Agree
        );
        assert_eq!(
            incoming(Some("B2"), Some("T9")).relation(&held(Some("A1"), Some("T9"))),
            Upns::Disagree,
            "two current UPNs that differ outweigh a shared former one"
        );
    }
}
