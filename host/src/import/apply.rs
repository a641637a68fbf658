//! Applying one file: match each incoming student, apply the processing
//! rules per data group unless the cache says the block is unchanged, queue
//! or add the unmatched, record deletions. Runs inside the file's transaction.

use super::matching::{self, Added, Decision, Matcher, Rule as MatchRule, Settings};
use super::{bool_setting, groups, Contact, IncomingStudent};
use crate::actor::Actor;
use crate::error::Result;
use crate::items::{self, Item};
use crate::storage::rules::{Rule, RuleSet, CONTACTS};
use crate::storage::unmatched::{self, Candidate};
use crate::storage::{cache, conflicts, defaults, deletions, schools::School, students};
use crate::time::{self, Timestamp};
use b2b_normalise::same;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What applying one file did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Students in the file.
    pub received: u32,
    /// Matched to a held student (the sum of the three below).
    pub matched: u32,
    /// Matched by the source's id or the person GUID, linked before.
    pub matched_by_link: u32,
    /// Matched by UPN and three of date of birth, surname, forename, gender.
    pub matched_by_upn: u32,
    /// Matched by all four of date of birth, surname, forename and gender.
    pub matched_by_all_four: u32,
    /// Added as new held students (the school's "add if unmatched" rule).
    pub added: u32,
    /// Queued for a person (the near matches included).
    pub unmatched: u32,
    /// Queued because a held pupil nearly matched: never added or merged,
    /// the candidates are named for a person.
    pub near_matches: u32,
    /// Not offered: older than `import.max_age`.
    pub too_old: u32,
    /// Conflicts raised or updated with a newer incoming value.
    pub conflicts: u32,
    /// Held items written by an import rule.
    pub updated: u32,
    /// Matched students whose every block was unchanged since the last import.
    pub unchanged: u32,
    /// Deletions at source recorded.
    pub deleted: u32,
    /// Values that could not be used, for the file's error log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Everything applying needs besides the data, read once per file.
pub(super) struct Context<'a> {
    school: &'a School,
    actor: &'a Actor,
    rules: RuleSet,
    matching: Settings,
    max_age: i64,
    now: Timestamp,
    /// The school's cached block hashes by (source id, group), read once per
    /// file rather than once per student and group.
    cached: HashMap<(String, String), String>,
}

impl<'a> Context<'a> {
    pub(super) fn load(
        conn: &Connection,
        school: &'a School,
        actor: &'a Actor,
    ) -> Result<Context<'a>> {
        Ok(Context {
            school,
            actor,
            rules: RuleSet::for_school(conn, school.id)?,
            matching: Settings {
                guid: bool_setting(conn, "match.guid")?,
                active_only: bool_setting(conn, "match.active_only")?,
            },
            max_age: defaults::get_int(conn, "import.max_age")?,
            now: time::now(),
            cached: cache::hashes(conn, school.id)?,
        })
    }
}

/// Applies one file's students and deletions. `added` holds the students
/// this import added; the ones this file adds join it (the caller commits
/// or rolls them back with the file's transaction).
pub(super) fn apply(
    conn: &Connection,
    ctx: &Context,
    file: i64,
    incoming: &[IncomingStudent],
    deleted: &[String],
    added: &mut Added,
) -> Result<Outcome> {
    let mut out = Outcome {
        received: incoming.len() as u32,
        ..Outcome::default()
    };
    for s in incoming {
        let s = cleaned(s, &mut out.warnings);
        let decision = Matcher::new(conn, &ctx.matching, added).find(&s)?;
        match decision {
            Decision::Matched(id, rule) => {
                out.count_match(rule);
                link(conn, &s, id)?;
                apply_matched(conn, ctx, &s, id, &mut out)?;
            }
            _ if too_old(&s, ctx) => out.too_old += 1,
            Decision::New if ctx.school.add_unmatched => {
                let id = add(conn, ctx, &s)?;
                added.insert(id);
                out.added += 1;
            }
            Decision::New => {
                queue(conn, ctx, &s, file, &[])?;
                out.unmatched += 1;
            }
            Decision::Near(candidates) => {
                queue(conn, ctx, &s, file, &candidates)?;
                out.unmatched += 1;
                out.near_matches += 1;
            }
        }
    }
    for source_id in deleted {
        let student = students::by_external(conn, matching::SOURCE_ID, source_id, false)?
            .map(|link| link.student_id);
        deletions::record(conn, ctx.school.id, source_id, student, file)?;
        out.deleted += 1;
    }
    Ok(out)
}

/// Places an incoming student a person decided on: matched to `student`
/// (its data is compared with the held record under the processing rules
/// now, as an import would, and its ids are linked with its UPN: the person
/// vouched for the pairing), or added as a new held student. Returns the
/// held student's id.
pub(super) fn place(
    conn: &Connection,
    ctx: &Context,
    s: &IncomingStudent,
    student: Option<i64>,
) -> Result<i64> {
    match student {
        Some(id) => {
            link(conn, s, id)?;
            apply_matched(conn, ctx, s, id, &mut Outcome::default())?;
            Ok(id)
        }
        None => add(conn, ctx, s),
    }
}

impl Outcome {
    fn count_match(&mut self, rule: MatchRule) {
        self.matched += 1;
        match rule {
            MatchRule::ExternalId => self.matched_by_link += 1,
            MatchRule::UpnPlusThree => self.matched_by_upn += 1,
            MatchRule::AllFour => self.matched_by_all_four += 1,
        }
    }
}

/// The student with each value tidied for storage; a value that cannot be
/// stored (a date that is not a date) is dropped with a warning rather than
/// failing the whole school.
fn cleaned(s: &IncomingStudent, warnings: &mut Vec<String>) -> IncomingStudent {
    let mut s = s.clone();
    s.items.retain_mut(|(key, value)| {
        let item = items::lookup(key).expect("keys were checked at submit");
        match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => {
                *value = None;
                true
            }
            Some(v) => match students::normalise_for_storage(item, v) {
                Ok(tidy) => {
                    *value = Some(tidy);
                    true
                }
                Err(e) => {
                    warnings.push(format!(
                        "student {}: {e}; the value was not used",
                        s.source_id
                    ));
                    false
                }
            },
        }
    });
    s
}

/// Links the student's source id and GUID to a held student, with the UPN
/// they came with.
fn link(conn: &Connection, s: &IncomingStudent, student: i64) -> Result<()> {
    let upn = s.item("identifiers.upn");
    students::link_external(conn, matching::SOURCE_ID, &s.source_id, student, upn)?;
    if let Some(upi) = s.upi.as_deref().filter(|u| !u.trim().is_empty()) {
        students::link_external(conn, matching::UPI, upi, student, upn)?;
    }
    Ok(())
}

fn too_old(s: &IncomingStudent, ctx: &Context) -> bool {
    let Some(dob) = s
        .item("basic.date_of_birth")
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    else {
        return false;
    };
    let today = chrono::DateTime::from_timestamp(ctx.now, 0)
        .map(|t| t.date_naive())
        .unwrap_or(dob);
    today
        .years_since(dob)
        .is_some_and(|age| age as i64 > ctx.max_age)
}

/// The hash of one data group's block (items in catalogue order, or the carers).
fn block_hash(s: &IncomingStudent, group: &str) -> Option<String> {
    let mut h = Sha256::new();
    if group == CONTACTS {
        h.update(serde_json::to_vec(s.contacts.as_ref()?).expect("contacts serialise"));
    } else {
        let mut any = false;
        for item in items::ITEMS.iter().filter(|i| i.group == group) {
            if let Some((_, v)) = s.items.iter().find(|(k, _)| k == item.key) {
                any = true;
                h.update(item.key.as_bytes());
                h.update([0x1f]);
                h.update(v.as_deref().unwrap_or("\u{0}").as_bytes());
                h.update([0x1e]);
            }
        }
        if !any {
            return None;
        }
    }
    Some(
        h.finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

fn apply_matched(
    conn: &Connection,
    ctx: &Context,
    s: &IncomingStudent,
    student: i64,
    out: &mut Outcome,
) -> Result<()> {
    let mut held: Option<students::Student> = None;
    let mut changed_any = false;
    for group in groups() {
        let Some(hash) = block_hash(s, group) else {
            continue;
        };
        if ctx.cached.get(&(s.source_id.clone(), group.to_string())) == Some(&hash) {
            continue;
        }
        changed_any = true;
        if group == CONTACTS {
            apply_contacts(conn, ctx, s, student)?;
        } else {
            // Read the held record once, and only when some block changed.
            let held = match &mut held {
                Some(h) => h,
                None => held.insert(students::get(conn, student)?),
            };
            for item in items::ITEMS.iter().filter(|i| i.group == group) {
                if let Some((_, value)) = s.items.iter().find(|(k, _)| k == item.key) {
                    let current = held.value(item.key);
                    apply_item(conn, ctx, student, item, current, value.as_deref(), out)?;
                }
            }
        }
        cache::put(conn, ctx.school.id, &s.source_id, group, &hash, ctx.now)?;
    }
    if !changed_any {
        out.unchanged += 1;
    }
    Ok(())
}

fn apply_item(
    conn: &Connection,
    ctx: &Context,
    student: i64,
    item: &Item,
    held: Option<&str>,
    incoming: Option<&str>,
    out: &mut Outcome,
) -> Result<()> {
    if same(item.kind, held, incoming) {
        return Ok(());
    }
    let held_empty = held.is_none_or(|h| h.trim().is_empty());
    match ctx.rules.rule(item.group, item.key) {
        Rule::DontImport => {}
        Rule::AlwaysImport => write(conn, ctx, student, item, incoming, out)?,
        Rule::ImportIfNull if held_empty => write(conn, ctx, student, item, incoming, out)?,
        Rule::ImportIfNull | Rule::AlwaysConflict => {
            let open: Option<Option<String>> = conn
                .prepare_cached("SELECT incoming_value FROM conflicts WHERE student_id = ? AND item = ? AND status = 'open'")?
                .query_row(params![student, item.key], |r| r.get(0))
                .optional()?;
            if open.as_ref().map(Option::as_deref) != Some(incoming) {
                conflicts::raise(conn, student, item.key, held, incoming, None)?;
                out.conflicts += 1;
            }
        }
    }
    Ok(())
}

fn write(
    conn: &Connection,
    ctx: &Context,
    student: i64,
    item: &Item,
    value: Option<&str>,
    out: &mut Outcome,
) -> Result<()> {
    students::set_item(conn, student, item.key, value, ctx.actor)?;
    out.updated += 1;
    Ok(())
}

/// Carers cannot be put in conflict item by item, so: always import replaces
/// them; import-if-null and the default add them when none are held; don't
/// import leaves them.
fn apply_contacts(
    conn: &Connection,
    ctx: &Context,
    s: &IncomingStudent,
    student: i64,
) -> Result<()> {
    let Some(contacts) = &s.contacts else {
        return Ok(());
    };
    let held: i64 = conn.query_row(
        "SELECT COUNT(*) FROM contacts WHERE student_id = ?",
        [student],
        |r| r.get(0),
    )?;
    let replace = match ctx.rules.rule(CONTACTS, CONTACTS) {
        Rule::AlwaysImport => true,
        Rule::DontImport => false,
        Rule::ImportIfNull | Rule::AlwaysConflict => held == 0,
    };
    if replace {
        conn.execute("DELETE FROM contacts WHERE student_id = ?", [student])?;
        insert_contacts(conn, student, contacts)?;
    }
    Ok(())
}

fn insert_contacts(conn: &Connection, student: i64, contacts: &[Contact]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO contacts (student_id, name, relationship, phone, email, parental_responsibility) VALUES (?, ?, ?, ?, ?, ?)",
    )?;
    for c in contacts {
        stmt.execute(params![
            student,
            c.name,
            c.relationship,
            c.phone,
            c.email,
            c.parental_responsibility
        ])?;
    }
    Ok(())
}

/// Adds the student as a new held record; returns its id.
fn add(conn: &Connection, ctx: &Context, s: &IncomingStudent) -> Result<i64> {
    let values: Vec<(&str, Option<&str>)> = s
        .items
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    let id = students::insert(conn, Some(ctx.school.id), &values)?;
    link(conn, s, id)?;
    insert_contacts(conn, id, s.contacts.as_deref().unwrap_or_default())?;
    for group in groups() {
        if let Some(hash) = block_hash(s, group) {
            cache::put(conn, ctx.school.id, &s.source_id, group, &hash, ctx.now)?;
        }
    }
    Ok(id)
}

fn queue(
    conn: &Connection,
    ctx: &Context,
    s: &IncomingStudent,
    file: i64,
    candidates: &[Candidate],
) -> Result<()> {
    let data = serde_json::to_string(s).expect("incoming students serialise");
    unmatched::upsert(
        conn,
        &unmatched::Queued {
            school_id: ctx.school.id,
            source_id: &s.source_id,
            upi: s.upi.as_deref(),
            surname: s.item("basic.surname"),
            forename: s.item("basic.forename"),
            date_of_birth: s.item("basic.date_of_birth"),
            upn: s.item("identifiers.upn"),
            data: &data,
            file_id: file,
            candidates,
        },
    )
}
