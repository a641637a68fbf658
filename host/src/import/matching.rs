//! Matching an incoming student to a held one (docs/architecture.md, "The
//! import"): external id or GUID, then UPN plus three of date of birth,
//! surname, forename and gender, then all four of those.
//!
//! Attaching one child's data to another is the worst thing an import can
//! do, so matching errs towards asking a person:
//! - a held pupil's UPNs are its own, the ones the school sent with its
//!   linked records, and its former UPN; no rule, a linked id included,
//!   matches across a disagreeing UPN unless a person matched that record
//!   with that UPN;
//! - a link is taken only while the record still resembles the pupil (two
//!   of the four identifying items) and no other held pupil holds its UPN;
//! - a pupil added earlier in the same import is never evidence for another
//!   record, nor is a pupil already linked to another record of the same
//!   school (a school does not send one child twice);
//! - a rule matches only when it finds exactly one held pupil and no other
//!   nearly matched, by that rule or a stronger one (twins, duplicated held
//!   records and reused UPNs all go to a person);
//! - a record already queued for a person with candidates is left to them.
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

/// The held students an import run added: never evidence for another
/// record. A file that rolls back takes its additions back out.
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

/// The identifying items of an incoming student, as held ones are stored.
pub(super) struct Ids<'a> {
    student: &'a IncomingStudent,
    upn: Option<String>,
    former: Option<String>,
}

impl<'a> Ids<'a> {
    pub(super) fn of(student: &'a IncomingStudent) -> Self {
        let upn = |key| {
            student
                .item(key)
                .map(normalised_upn)
                .filter(|u: &String| !u.is_empty())
        };
        Ids {
            student,
            upn: upn("identifiers.upn"),
            former: upn("identifiers.former_upn"),
        }
    }

    fn relation(&self, held: &Identity) -> Upns {
        let (upn, former) = (self.upn.as_deref(), self.former.as_deref());
        let held_former = held.former_upn.as_deref().filter(|u| !u.is_empty());
        // The held pupil's current UPNs: the LA's own, and those a person
        // vouched for; where the LA holds none, those its linked records
        // came with (an import's inference never outweighs the LA's record).
        let own = held.upn.as_deref().filter(|u| !u.is_empty());
        let current: Vec<&str> = own
            .into_iter()
            .chain(
                held.linked_upns
                    .iter()
                    .filter(|(_, vouched)| *vouched || own.is_none())
                    .map(|(upn, _)| upn.as_str()),
            )
            .collect();
        let held_has = |u: Option<&str>| u.is_some_and(|u| current.contains(&u));
        // A pupil's UPN can become their former UPN, never another pupil's.
        if held_has(upn) || held_has(former) || (upn.is_some() && upn == held_former) {
            Upns::Agree
        } else if upn.is_some() && !current.is_empty() {
            Upns::Disagree
        } else if former.is_some() && former == held_former {
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
        let linked = if held.linked_upns.is_empty() {
            String::new()
        } else {
            let upns: Vec<&str> = held.linked_upns.iter().map(|(u, _)| u.as_str()).collect();
            format!(", and its linked records came with {}", upns.join(", "))
        };
        format!(
            "the school sends UPN {} (former {}) where the LA holds {} (former {}){linked}",
            shown(self.upn.as_deref()),
            shown(self.former.as_deref()),
            shown(held.upn.as_deref()),
            shown(held.former_upn.as_deref())
        )
    }

    /// How many of the four identifying items agree (an item missing on
    /// either side does not agree).
    fn agreeing(&self, held: &Identity) -> usize {
        four(held)
            .into_iter()
            .filter(|(kind, held, key, _)| agrees(*kind, held, self.student.item(key)))
            .count()
    }

    /// "same date of birth, surname and gender; forename differ", for a reason.
    fn agreement(&self, held: &Identity) -> String {
        let (same, differ): (Vec<_>, Vec<_>) = four(held)
            .into_iter()
            .partition(|(kind, held, key, _)| agrees(*kind, held, self.student.item(key)));
        let names = |items: Vec<(ItemKind, &Option<String>, &str, &str)>| {
            items.iter().map(|i| i.3).collect::<Vec<_>>().join(", ")
        };
        match (same.is_empty(), differ.is_empty()) {
            (_, true) => format!("same {}", names(same)),
            (true, false) => format!("{} all differ", names(differ)),
            (false, false) => format!("same {}; {} differ", names(same), names(differ)),
        }
    }
}

/// Why record `other` may not be placed with `chosen` as one child when a
/// person places `chosen`, if it may not: sharing a person GUID is not
/// enough on its own (a wrong or blank GUID would carry another child
/// along); their UPNs must not disagree and three of date of birth,
/// surname, forename and gender must agree.
pub fn not_one_child(chosen: &IncomingStudent, other: &IncomingStudent) -> Option<String> {
    let other_ids = Ids::of(other);
    let as_held = Identity {
        id: 0,
        date_of_birth: other.item("basic.date_of_birth").map(String::from),
        surname: other.item("basic.surname").map(String::from),
        forename: other.item("basic.forename").map(String::from),
        gender: other.item("basic.gender").map(String::from),
        upn: other_ids.upn.clone(),
        former_upn: other_ids.former.clone(),
        linked_upns: Vec::new(),
    };
    let ids = Ids::of(chosen);
    if ids.relation(&as_held) == Upns::Disagree {
        return Some(format!(
            "it shares the person GUID, but its UPN {} differs",
            as_held.upn.as_deref().unwrap_or("none")
        ));
    }
    let agree = ids.agreeing(&as_held);
    (agree < 3).then(|| {
        format!(
            "it shares the person GUID, but only {agree} of date of birth, surname, forename and gender agree: {}",
            ids.agreement(&as_held)
        )
    })
}

/// The candidates gathered so far, each held student named once.
#[derive(Default)]
struct Near(Vec<Candidate>);

impl Near {
    fn add(&mut self, student_id: i64, reason: String) {
        if !self.names(student_id) {
            self.0.push(Candidate { student_id, reason });
        }
    }

    fn names(&self, student_id: i64) -> bool {
        self.0.iter().any(|c| c.student_id == student_id)
    }
}

/// What a stage of matching found.
enum Stage {
    /// This held student.
    Chosen(i64),
    /// Evidence against any match: stop and ask a person.
    Stop,
    /// Nothing decisive: try the next rule.
    Next,
}

/// Finds the held student an incoming one is, in one import run.
pub struct Matcher<'a> {
    conn: &'a Connection,
    settings: &'a Settings,
    /// Held students this import added: never evidence for another record.
    added: &'a Added,
    /// The school whose file is being applied.
    school_id: i64,
}

/// One incoming record being matched.
struct Search<'a> {
    ids: Ids<'a>,
    near: Near,
    /// A person has the record queued with candidates already: no rule may
    /// take it by inference, only a link.
    left_to_person: bool,
}

impl<'a> Matcher<'a> {
    /// A matcher over `conn` for a file of `school_id`, never matching by
    /// inference to `added`.
    pub fn new(
        conn: &'a Connection,
        settings: &'a Settings,
        added: &'a Added,
        school_id: i64,
    ) -> Self {
        Matcher {
            conn,
            settings,
            added,
            school_id,
        }
    }

    /// Decides which held student `s` is: one a rule matched with nothing
    /// against it, the near candidates, or none. `left_to_person` says the
    /// record already waits for a person with candidates named.
    pub fn find(&self, s: &IncomingStudent, left_to_person: bool) -> Result<Decision> {
        let mut search = Search {
            ids: Ids::of(s),
            near: Near::default(),
            left_to_person,
        };
        for rule in [Rule::ExternalId, Rule::UpnPlusThree, Rule::AllFour] {
            let stage = match rule {
                Rule::ExternalId => self.by_link(&mut search)?,
                Rule::UpnPlusThree => self.by_upn(&mut search)?,
                Rule::AllFour => self.by_all_four(&mut search)?,
            };
            match stage {
                Stage::Chosen(id) => return Ok(Decision::Matched(id, rule)),
                Stage::Stop => break,
                Stage::Next => {}
            }
        }
        Ok(match search.near.0 {
            candidates if candidates.is_empty() => Decision::New,
            candidates => Decision::Near(candidates),
        })
    }

    /// The student the school's record id, or else the person GUID, is
    /// linked to, if the record still is that pupil by what it carries.
    fn by_link(&self, search: &mut Search) -> Result<Stage> {
        if !self.settings.guid {
            return Ok(Stage::Next);
        }
        let s = search.ids.student;
        let ids = [
            (
                SOURCE_ID,
                "the school's record id",
                Some(s.source_id.as_str()),
            ),
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
            let linked = format!("{what} {id} is linked to this pupil");
            let vouched = link.vouched && link.upn.is_some() && link.upn == search.ids.upn;
            let against = if self.added.contains(held.id) {
                Some(added_earlier(&linked))
            } else if vouched {
                None
            } else {
                self.against_link(search, &held, &linked)?
            };
            return Ok(match against {
                None => Stage::Chosen(held.id),
                Some(reason) => {
                    search.near.add(held.id, reason);
                    Stage::Stop
                }
            });
        }
        Ok(Stage::Next)
    }

    /// Why a link no person vouched for must not be taken, if it must not:
    /// the UPNs disagree, the record no longer resembles the pupil, or
    /// another held pupil holds its UPN (who is then named too).
    fn against_link(
        &self,
        search: &mut Search,
        held: &Identity,
        linked: &str,
    ) -> Result<Option<String>> {
        let ids = &search.ids;
        if ids.relation(held) == Upns::Disagree {
            return Ok(Some(format!("{linked}, but {}", ids.differ(held))));
        }
        let agree = ids.agreeing(held);
        if agree < 2 {
            return Ok(Some(format!(
                "{linked}, but the record no longer resembles them: {}",
                ids.agreement(held)
            )));
        }
        let others: Vec<Identity> = self
            .sharing(ids)?
            .into_iter()
            .filter(|o| o.id != held.id)
            .collect();
        if others.is_empty() {
            return Ok(None);
        }
        for other in &others {
            search.near.add(
                other.id,
                format!(
                    "holds the UPN the school sends, but the school's record is linked to held pupil {}",
                    held.id
                ),
            );
        }
        let ids: Vec<String> = others.iter().map(|o| o.id.to_string()).collect();
        Ok(Some(format!(
            "{linked}, but the LA holds the UPN the school sends for held pupil {}",
            ids.join(", ")
        )))
    }

    /// Held students with the incoming UPN (as UPN or former UPN).
    fn sharing(&self, ids: &Ids) -> Result<Vec<Identity>> {
        match &ids.upn {
            Some(upn) => students::sharing_upn(
                self.conn,
                upn,
                ids.former.as_deref(),
                self.settings.active_only,
            ),
            None => Ok(Vec::new()),
        }
    }

    /// The one held student sharing the UPN who agrees on three of the four
    /// identifying items.
    fn by_upn(&self, search: &mut Search) -> Result<Stage> {
        let mut chosen = Vec::new();
        for held in self.sharing(&search.ids)? {
            if search.near.names(held.id) {
                continue;
            }
            let agree = search.ids.agreeing(&held);
            match self.unavailable(&held, &search.ids, "shares the UPN")? {
                Some(reason) => search.near.add(held.id, reason),
                None if agree >= 3 => chosen.push(held.id),
                None => search.near.add(
                    held.id,
                    format!(
                        "shares the UPN, but only {agree} of date of birth, surname, forename and gender agree (3 are needed): {}",
                        search.ids.agreement(&held)
                    ),
                ),
            }
        }
        Ok(only(
            chosen,
            search,
            "the UPN and three or more of date of birth, surname, forename and gender agree",
        ))
    }

    /// The one held student who agrees on all four identifying items with
    /// no disagreeing UPN. Look-alikes (three of four, or all four with
    /// another UPN, such as twins) are named as candidates.
    fn by_all_four(&self, search: &mut Search) -> Result<Stage> {
        let Some(dob) = search.ids.student.item("basic.date_of_birth") else {
            return Ok(Stage::Next);
        };
        let mut chosen = Vec::new();
        for held in students::born_on(self.conn, dob, self.settings.active_only)? {
            let agree = search.ids.agreeing(&held);
            if agree < 3 || search.near.names(held.id) {
                continue;
            }
            let alike = search.ids.agreement(&held);
            if let Some(reason) = self.unavailable(&held, &search.ids, &alike)? {
                search.near.add(held.id, reason);
            } else if search.ids.relation(&held) == Upns::Disagree {
                let reason = format!("{alike}, but {}", search.ids.differ(&held));
                search.near.add(held.id, reason);
            } else if agree == 4 {
                chosen.push(held.id);
            } else {
                search.near.add(held.id, alike);
            }
        }
        Ok(only(
            chosen,
            search,
            "date of birth, surname, forename and gender all agree",
        ))
    }

    /// Why a held student that resembles the record cannot be inferred to
    /// be it, whatever else agrees: this import added them, or they are
    /// linked to another record of the same school.
    fn unavailable(&self, held: &Identity, ids: &Ids, resemblance: &str) -> Result<Option<String>> {
        if self.added.contains(held.id) {
            return Ok(Some(added_earlier(resemblance)));
        }
        let other = students::linked_to_other_record(
            self.conn,
            held.id,
            self.school_id,
            &ids.student.source_id,
        )?;
        Ok(other.map(|other| {
            format!(
                "{resemblance}, but is linked to the school's record {other} already, and a school does not send one child twice"
            )
        }))
    }
}

/// The one student a rule chose, unless another held student nearly
/// matched (by this rule or a stronger one), the rule chose several, or the
/// record is left to a person; then every one of them is named.
fn only(chosen: Vec<i64>, search: &mut Search, rule: &str) -> Stage {
    match chosen[..] {
        [] => Stage::Next,
        [one] if search.near.0.is_empty() && !search.left_to_person => Stage::Chosen(one),
        [one] if search.left_to_person => {
            search.near.add(
                one,
                format!(
                    "{rule}, but the record waits for a person, who was shown other candidates"
                ),
            );
            Stage::Stop
        }
        [one] => {
            let others = search
                .near
                .0
                .iter()
                .map(|c| c.student_id.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            search.near.add(
                one,
                format!("{rule}, but held pupil {others} nearly matches too"),
            );
            Stage::Stop
        }
        _ => {
            for id in chosen.iter().copied() {
                search
                    .near
                    .add(id, format!("{rule} for {} held pupils", chosen.len()));
            }
            Stage::Stop
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

#[cfg(test)]
mod tests {
    use super::*;

    fn held(upn: Option<&str>, former: Option<&str>, linked: &[(&str, bool)]) -> Identity {
        Identity {
            id: 1,
            date_of_birth: None,
            surname: None,
            forename: None,
            gender: None,
            upn: upn.map(String::from),
            former_upn: former.map(String::from),
            linked_upns: linked.iter().map(|(u, v)| (u.to_string(), *v)).collect(),
        }
    }

    fn relation(upn: Option<&str>, former: Option<&str>, held: &Identity) -> Upns {
        let mut items = Vec::new();
        items.extend(upn.map(|u| ("identifiers.upn".to_string(), Some(u.to_string()))));
        items.extend(former.map(|u| ("identifiers.former_upn".to_string(), Some(u.to_string()))));
        let s = IncomingStudent {
            source_id: "A1".into(),
            upi: None,
            items,
            contacts: None,
        };
        Ids::of(&s).relation(held)
    }

    #[test]
    fn upns_agree_through_a_former_upn() {
        let h = held(Some("A1"), Some("T9"), &[]);
        assert_eq!(relation(Some("a1 "), None, &h), Upns::Agree);
        assert_eq!(relation(Some("T9"), None, &h), Upns::Agree);
        assert_eq!(relation(Some("B2"), Some("A1"), &h), Upns::Agree);
    }

    #[test]
    fn upns_disagree_only_when_both_sides_have_one() {
        let h = held(Some("A1"), None, &[]);
        assert_eq!(relation(Some("B2"), None, &h), Upns::Disagree);
        assert_eq!(relation(None, None, &h), Upns::Unknown);
        assert_eq!(relation(None, Some("X"), &h), Upns::Unknown);
        assert_eq!(
            relation(None, Some("X"), &held(None, Some("Y"), &[])),
            Upns::Disagree
        );
        assert_eq!(
            relation(Some("B2"), None, &held(None, None, &[])),
            Upns::Unknown
        );
    }

    #[test]
    fn a_shared_former_upn_agrees_only_when_the_current_ones_do_not_differ() {
        assert_eq!(
            relation(Some("B2"), Some("T9"), &held(None, Some("T9"), &[])),
            Upns::Agree
        );
        assert_eq!(
            relation(Some("B2"), Some("T9"), &held(Some("A1"), Some("T9"), &[])),
            Upns::Disagree,
            "two current UPNs that differ outweigh a shared former one"
        );
    }

    #[test]
    fn the_upns_linked_records_came_with_are_the_pupils_own_where_the_la_holds_none() {
        let h = held(None, None, &[("A1", false)]);
        assert_eq!(relation(Some("A1"), None, &h), Upns::Agree);
        assert_eq!(relation(Some("B2"), None, &h), Upns::Disagree);
        let held_upn = held(Some("Z9"), None, &[("A1", false), ("B2", true)]);
        assert_eq!(
            relation(Some("A1"), None, &held_upn),
            Upns::Disagree,
            "the LA's own UPN outweighs an import's link"
        );
        assert_eq!(
            relation(Some("B2"), None, &held_upn),
            Upns::Agree,
            "a person vouched for it"
        );
    }
}
