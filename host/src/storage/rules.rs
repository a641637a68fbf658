//! Processing rules: how incoming values of a data group or item are
//! applied, for all schools or one (docs/architecture.md).

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::items;
use crate::storage::audit;
use crate::time;
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// What to do with an incoming value that differs from the held one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Write it into the held record.
    AlwaysImport,
    /// Raise a conflict for a person (the default).
    AlwaysConflict,
    /// Write it when the held value is empty, otherwise raise a conflict.
    ImportIfNull,
    /// Leave the held value as it is and raise nothing.
    DontImport,
}

const NAMES: &[(Rule, &str)] = &[
    (Rule::AlwaysImport, "always_import"),
    (Rule::AlwaysConflict, "always_conflict"),
    (Rule::ImportIfNull, "import_if_null"),
    (Rule::DontImport, "dont_import"),
];

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            NAMES
                .iter()
                .find(|(r, _)| r == self)
                .map(|(_, n)| *n)
                .expect("listed"),
        )
    }
}

impl FromStr for Rule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Rule> {
        NAMES
            .iter()
            .find(|(_, n)| *n == s.trim())
            .map(|(r, _)| *r)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown rule `{s}`; the rules are: {}",
                    NAMES.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
                ))
            })
    }
}

/// A stored rule.
#[derive(Debug, Clone, Serialize)]
pub struct StoredRule {
    /// `None` for every school.
    pub school_id: Option<i64>,
    /// A data group (`address`) or item (`address.postcode`), or `contacts`.
    pub target: String,
    /// How incoming values of the target are applied.
    pub rule: Rule,
    /// Who set it.
    pub updated_by: String,
}

/// The data groups rules can name besides the item catalogue's.
pub const CONTACTS: &str = "contacts";

fn check_target(target: &str) -> Result<()> {
    let is_group = target == CONTACTS || items::ITEMS.iter().any(|i| i.group == target);
    if is_group || items::lookup(target).is_ok() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "`{target}` is neither a data group (basic, identifiers, address, education, extended, contacts) nor a data item (see `b2b students show`)"
    )))
}

/// Sets (or with `None` removes) the rule for a target, audited.
pub fn set(
    conn: &Connection,
    school_id: Option<i64>,
    target: &str,
    rule: Option<Rule>,
    actor: &Actor,
) -> Result<()> {
    check_target(target)?;
    conn.execute(
        "DELETE FROM processing_rules WHERE COALESCE(school_id, 0) = COALESCE(?1, 0) AND target = ?2",
        params![school_id, target],
    )?;
    if let Some(rule) = rule {
        conn.execute(
            "INSERT INTO processing_rules (school_id, target, rule, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)",
            params![school_id, target, rule.to_string(), actor.as_str(), time::now()],
        )?;
    }
    audit::record(
        conn,
        actor,
        "rule.set",
        "processing_rule",
        target,
        serde_json::json!({"school_id": school_id, "rule": rule.map(|r| r.to_string())}),
    )
}

/// Every stored rule.
pub fn list(conn: &Connection) -> Result<Vec<StoredRule>> {
    let mut stmt = conn.prepare("SELECT school_id, target, rule, updated_by FROM processing_rules ORDER BY school_id, target")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get(3)?,
        ))
    })?;
    rows.map(|row| {
        let (school_id, target, rule, updated_by) = row?;
        Ok(StoredRule {
            school_id,
            target,
            rule: rule.parse()?,
            updated_by,
        })
    })
    .collect()
}

/// The rules in force for one school, for resolving many items quickly.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    school: HashMap<String, Rule>,
    all: HashMap<String, Rule>,
}

impl RuleSet {
    /// Loads the rules that apply to `school_id`.
    pub fn for_school(conn: &Connection, school_id: i64) -> Result<RuleSet> {
        let mut set = RuleSet::default();
        for r in list(conn)? {
            match r.school_id {
                Some(id) if id == school_id => set.school.insert(r.target, r.rule),
                None => set.all.insert(r.target, r.rule),
                Some(_) => None,
            };
        }
        Ok(set)
    }

    /// The rule for an item of a group: the school's rule for the item, then
    /// for its group, then the LA-wide rule for the item, then for the group,
    /// else always put in conflict.
    pub fn rule(&self, group: &str, item: &str) -> Rule {
        [
            self.school.get(item),
            self.school.get(group),
            self.all.get(item),
            self.all.get(group),
        ]
        .into_iter()
        .flatten()
        .next()
        .copied()
        .unwrap_or(Rule::AlwaysConflict)
    }
}
