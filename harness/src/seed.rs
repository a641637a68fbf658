//! Seeding a fresh database from a fixture, through the storage layer, so
//! that the rows are exactly what the host itself would have written.

use super::fixture::Fixture;
use b2b_host::actor::Actor;
use b2b_host::error::{Error, Result};
use b2b_host::import::SOURCE_ID;
use b2b_host::lease::{ignore_loss, Lease, RUN_LEASE};
use b2b_host::secrets::Secrets;
use b2b_host::service::Service;
use b2b_host::storage::files::Status;
use b2b_host::storage::{
    cache, conflicts, defaults, files, in_transaction, runs, schools, students,
};
use b2b_host::time::{days, now};
use rusqlite::Connection;
use std::collections::BTreeMap;

/// The host ids of what was seeded, by the fixture's labels.
#[derive(Default)]
pub(super) struct Seeded {
    pub schools: BTreeMap<String, i64>,
    pub students: BTreeMap<String, i64>,
    pub conflicts: BTreeMap<String, i64>,
    pub files: BTreeMap<String, i64>,
    pub cache: BTreeMap<String, i64>,
    /// The lease of the import the fixture's queued and processing files
    /// belong to, held while the plugin runs: files of a live import, which
    /// the host never touches (without it they would be a dead import's, and
    /// ended as interrupted before the plugin ran).
    pub _import_lease: Option<Lease>,
}

/// Writes everything the fixture seeds, in one transaction.
pub(super) fn seed(svc: &Service, fixture: &Fixture) -> Result<Seeded> {
    let secrets = Secrets::for_db(svc.db().path());
    for (name, value) in &fixture.secrets {
        secrets.set(name, value, None)?;
    }
    let actor = Actor::named("harness");
    let importing = match fixture.files.iter().any(|f| is_open(f.status)) {
        true => Some(Lease::register(svc.db(), RUN_LEASE, ignore_loss())?),
        false => None,
    };
    in_transaction(svc.conn(), |conn| {
        for (key, value) in fixture.defaults()? {
            defaults::set(conn, &key, &value, &actor)?;
        }
        let mut seeded = Seeded::default();
        let import_run = importing
            .as_ref()
            .map(|lease| import_in_progress(conn, lease))
            .transpose()?;
        seed_schools(conn, fixture, &mut seeded)?;
        seed_students(conn, fixture, &mut seeded)?;
        seed_conflicts(conn, fixture, &mut seeded)?;
        seed_files(conn, fixture, &mut seeded, import_run)?;
        seed_cache(conn, fixture, &mut seeded)?;
        Ok(seeded)
    })
    .map(|seeded| Seeded {
        _import_lease: importing,
        ..seeded
    })
}

/// Whether a file is one an import still has open.
fn is_open(status: Status) -> bool {
    matches!(status, Status::Queued | Status::Processing)
}

/// The run of an import in progress, owned by this process's `lease`.
fn import_in_progress(conn: &Connection, lease: &Lease) -> Result<i64> {
    runs::start(
        conn,
        &runs::Starting {
            plugin_id: "wonde-import",
            version: "0",
            params: "[]",
            actor: "harness",
            task_run: None,
            owner: lease.id(),
        },
    )
}

fn seed_schools(conn: &Connection, fixture: &Fixture, seeded: &mut Seeded) -> Result<()> {
    for s in &fixture.schools {
        let school = schools::upsert(
            conn,
            &schools::NewSchool {
                wonde_id: &s.id,
                name: s.name.as_deref().unwrap_or(&s.id),
                urn: s.urn,
                ..Default::default()
            },
        )?;
        schools::set_add_unmatched(conn, school.id, s.add_unmatched)?;
        unique("schools", "id", &s.id, school.id, &mut seeded.schools)?;
    }
    Ok(())
}

fn seed_students(conn: &Connection, fixture: &Fixture, seeded: &mut Seeded) -> Result<()> {
    for s in &fixture.students {
        let school = s
            .school
            .as_deref()
            .map(|id| {
                lookup(
                    &seeded.schools,
                    "school",
                    id,
                    &format!("student `{}`", s.label),
                )
            })
            .transpose()?;
        let items: Vec<(&str, Option<&str>)> = s
            .items
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str()).filter(|v| !v.is_empty())))
            .collect();
        let id = students::insert(conn, school, &items)
            .map_err(|e| Error::invalid(format!("student `{}`: {e}", s.label)))?;
        if let Some(wonde_id) = &s.wonde_id {
            students::link_external(
                conn,
                &students::Link {
                    source: SOURCE_ID,
                    external_id: wonde_id,
                    student_id: id,
                    upn: None,
                    school_id: school,
                    vouched: false,
                },
            )?;
        }
        unique("students", "label", &s.label, id, &mut seeded.students)?;
    }
    Ok(())
}

fn seed_conflicts(conn: &Connection, fixture: &Fixture, seeded: &mut Seeded) -> Result<()> {
    for c in &fixture.conflicts {
        let whose = format!("conflict `{}`", c.label);
        let student = lookup(&seeded.students, "student", &c.student, &whose)?;
        let held = match &c.held {
            Some(held) => Some(held.clone()),
            None => students::get(conn, student)?
                .value(&c.item)
                .map(str::to_string),
        };
        let id = conflicts::raise(
            conn,
            student,
            &c.item,
            held.as_deref(),
            c.incoming.as_deref(),
            None,
        )
        .map_err(|e| Error::invalid(format!("{whose}: {e}")))?;
        unique("conflicts", "label", &c.label, id, &mut seeded.conflicts)?;
    }
    Ok(())
}

fn seed_files(
    conn: &Connection,
    fixture: &Fixture,
    seeded: &mut Seeded,
    import_run: Option<i64>,
) -> Result<()> {
    for f in &fixture.files {
        let whose = format!("file `{}`", f.label);
        let school = f
            .school
            .as_deref()
            .map(|id| lookup(&seeded.schools, "school", id, &whose))
            .transpose()?;
        let received = now() - days(f.age_days);
        let id = files::insert(conn, school, received, f.status, 0, f.payload.as_bytes())?;
        if let Some(run) = import_run.filter(|_| is_open(f.status)) {
            files::set_run(conn, id, run)?;
        }
        unique("files", "label", &f.label, id, &mut seeded.files)?;
    }
    Ok(())
}

fn seed_cache(conn: &Connection, fixture: &Fixture, seeded: &mut Seeded) -> Result<()> {
    for e in &fixture.cache {
        let whose = format!("cache entry `{}`", e.label);
        let school = lookup(&seeded.schools, "school", &e.school, &whose)?;
        let student = e.student.as_deref().unwrap_or(&e.label);
        let imported = now() - days(e.age_days);
        cache::put(conn, school, student, &e.group, "harness", imported)?;
        let id = conn.query_row(
            "SELECT id FROM import_cache WHERE school_id = ? AND external_id = ? AND data_group = ?",
            rusqlite::params![school, student, e.group],
            |r| r.get(0),
        )?;
        unique("cache", "label", &e.label, id, &mut seeded.cache)?;
    }
    Ok(())
}

/// Records a label, refusing one used twice (the second would hide the first).
fn unique(
    table: &str,
    key: &str,
    label: &str,
    id: i64,
    ids: &mut BTreeMap<String, i64>,
) -> Result<()> {
    if ids.insert(label.to_string(), id).is_some() {
        return Err(Error::invalid(format!(
            "two [[{table}]] entries have the {key} `{label}`; give each its own"
        )));
    }
    Ok(())
}

/// The id of a labelled entry, or an error naming the labels there are.
pub(super) fn lookup(
    ids: &BTreeMap<String, i64>,
    kind: &str,
    label: &str,
    whose: &str,
) -> Result<i64> {
    ids.get(label).copied().ok_or_else(|| {
        let known: Vec<&str> = ids.keys().map(String::as_str).collect();
        Error::invalid(format!(
            "{whose} names {kind} `{label}`, which the fixture does not seed; it seeds: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })
}
