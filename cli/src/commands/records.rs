//! `b2b students`, `defaults`, `schools`, `files` and `runs`.

use super::output::{listing, opt, single};
use super::Context;
use b2b_host::error::Result;
use b2b_host::service::parse_param;
use b2b_host::storage::students::Filter;
use b2b_host::time;
use clap::Subcommand;

/// Held student records.
#[derive(Debug, Subcommand)]
pub enum Students {
    /// List students.
    List {
        /// Only this school's (Wonde id, URN or number).
        #[arg(long)]
        school: Option<String>,
        /// Surname, forename or UPN containing this.
        #[arg(long)]
        search: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Show every item of one student.
    Show {
        /// Student id.
        id: i64,
    },
    /// Change items: `b2b students edit 12 basic.surname=Smith address.postcode="AB1 2CD"`.
    Edit {
        /// Student id.
        id: i64,
        /// item=value pairs (an empty value clears the item).
        #[arg(required = true)]
        changes: Vec<String>,
    },
}

/// System Defaults.
#[derive(Debug, Subcommand)]
pub enum Defaults {
    /// Every setting with its value and what it controls.
    List,
    /// One setting's value.
    Get {
        /// e.g. files.retention_days
        key: String,
    },
    /// Change a setting (checked against what it allows).
    Set {
        /// e.g. files.retention_days
        key: String,
        /// The new value.
        value: String,
    },
}

/// Action run history.
#[derive(Debug, Subcommand)]
pub enum Runs {
    /// The newest runs first.
    List {
        /// Only this plugin's.
        #[arg(long)]
        plugin: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One run with its report and log.
    Show {
        /// Run id.
        id: i64,
    },
}

pub(super) fn students(ctx: &Context, cmd: &Students) -> Result<()> {
    let svc = ctx.service()?;
    match cmd {
        Students::List {
            school,
            search,
            limit,
        } => {
            let filter = Filter {
                school_id: school
                    .as_deref()
                    .map(|s| svc.school(s))
                    .transpose()?
                    .map(|s| s.id),
                search: search.clone(),
            };
            let list = svc.students(&filter, *limit)?;
            listing(
                ctx.json,
                &list,
                &["ID", "NAME", "DOB", "UPN", "POSTCODE", "SCHOOL"],
                |s| {
                    vec![
                        s.id.to_string(),
                        s.display_name(),
                        s.value("basic.date_of_birth").unwrap_or("-").into(),
                        s.value("identifiers.upn").unwrap_or("-").into(),
                        s.value("address.postcode").unwrap_or("-").into(),
                        opt(&s.school_id),
                    ]
                },
            );
        }
        Students::Show { id } => show_student(ctx, &svc.student(*id)?),
        Students::Edit { id, changes } => {
            let changes = changes
                .iter()
                .map(|c| parse_param(c))
                .collect::<Result<Vec<_>>>()?;
            let s = svc.edit_student(*id, &changes)?;
            println!("Updated {} item(s) of student {}.", changes.len(), s.id);
            show_student(ctx, &s);
        }
    }
    Ok(())
}

fn show_student(ctx: &Context, s: &b2b_host::storage::students::Student) {
    single(ctx.json, s, |s| {
        println!(
            "Student {} ({}), school {}",
            s.id,
            if s.active { "active" } else { "inactive" },
            opt(&s.school_id)
        );
        for (key, value) in &s.items {
            println!("  {key:<28} {}", super::output::opt(value));
        }
    });
}

pub(super) fn defaults(ctx: &Context, cmd: &Defaults) -> Result<()> {
    let svc = ctx.service()?;
    match cmd {
        Defaults::List => {
            let list = svc.defaults()?;
            listing(ctx.json, &list, &["KEY", "VALUE", "", "DESCRIPTION"], |s| {
                vec![
                    s.key.into(),
                    s.value.to_string(),
                    if s.is_default { "" } else { "(set)" }.into(),
                    s.description.into(),
                ]
            });
        }
        Defaults::Get { key } => single(ctx.json, &svc.default_value(key)?, |v| println!("{v}")),
        Defaults::Set { key, value } => {
            let v = svc.set_default(key, value)?;
            println!("{key} = {v}");
        }
    }
    Ok(())
}

pub(super) fn schools(ctx: &Context) -> Result<()> {
    let list = ctx.service()?.schools()?;
    listing(
        ctx.json,
        &list,
        &["ID", "WONDE ID", "URN", "NAME", "ACTIVE"],
        |s| {
            vec![
                s.id.to_string(),
                opt(&s.wonde_id),
                opt(&s.urn),
                s.name.clone(),
                s.active.to_string(),
            ]
        },
    );
    Ok(())
}

pub(super) fn files(ctx: &Context, school: Option<&str>, limit: u32) -> Result<()> {
    let list = ctx.service()?.files(school, limit)?;
    listing(
        ctx.json,
        &list,
        &[
            "ID", "SCHOOL", "RECEIVED", "STATUS", "RECORDS", "ERRORS", "BYTES", "DELETED",
        ],
        |f| {
            vec![
                f.id.to_string(),
                opt(&f.school_name),
                time::display(f.received_at),
                f.status.as_str().into(),
                f.record_count.to_string(),
                f.error_count.to_string(),
                f.payload_bytes.to_string(),
                f.deleted_at
                    .map(time::display)
                    .unwrap_or_else(|| "-".into()),
            ]
        },
    );
    Ok(())
}

pub(super) fn runs(ctx: &Context, cmd: &Runs) -> Result<()> {
    let svc = ctx.service()?;
    match cmd {
        Runs::List { plugin, limit } => {
            let list = svc.runs(plugin.as_deref(), *limit)?;
            listing(
                ctx.json,
                &list,
                &[
                    "ID", "PLUGIN", "STARTED", "STATUS", "EXAMINED", "CHANGED", "SKIPPED", "BY",
                ],
                |r| {
                    let c = r.counts.clone().unwrap_or_default();
                    vec![
                        r.id.to_string(),
                        r.plugin_id.clone(),
                        time::display(r.started_at),
                        r.status.clone(),
                        c.examined.to_string(),
                        c.changed.to_string(),
                        c.skipped.to_string(),
                        r.actor.clone(),
                    ]
                },
            );
        }
        Runs::Show { id } => single(ctx.json, &svc.run(*id)?, |r| {
            println!(
                "Run {} of {} {} ({})",
                r.id, r.plugin_id, r.plugin_version, r.status
            );
            println!("  by:       {}", r.actor);
            println!("  params:   {}", r.params);
            println!("  started:  {}", time::display(r.started_at));
            println!(
                "  finished: {}",
                r.finished_at
                    .map(time::display)
                    .unwrap_or_else(|| "-".into())
            );
            if let Some(c) = &r.counts {
                println!(
                    "  counts:   examined {}, changed {}, skipped {}",
                    c.examined, c.changed, c.skipped
                );
            }
            if let Some(s) = &r.summary {
                println!("  summary:  {s}");
            }
            if let Some(e) = &r.error {
                println!("  error:    {e}");
            }
            println!("  log:");
            for line in r.log.lines() {
                println!("    {line}");
            }
        }),
    }
    Ok(())
}
