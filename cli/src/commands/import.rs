//! `b2b import`, `b2b rules` and `b2b secrets`.

use super::output::{listing, opt, single};
use super::plugins::print_result;
use super::Context;
use b2b_host::error::{Error, Result};
use b2b_host::secrets::Secrets;
use b2b_host::time;
use clap::Subcommand;
use std::io::{BufRead, IsTerminal};

/// The Wonde import.
#[derive(Debug, Subcommand)]
pub enum Import {
    /// Import from Wonde now (a delta since each school's last success).
    Run {
        /// Only these schools (Wonde ids); repeat or comma-separate.
        #[arg(long, value_delimiter = ',')]
        school: Vec<String>,
        /// Fetch everything, not just what changed since the last import.
        #[arg(long)]
        full: bool,
    },
    /// Point the import at a Wonde endpoint (the real API, a region's, or
    /// `b2b wonde-sandbox`): sets wonde.base_url and grants wonde-import that host.
    Connect {
        /// e.g. https://api.wonde.com/v1.0/ or http://127.0.0.1:8650/v1.0/
        url: String,
    },
    /// Import files (virtual files).
    #[command(subcommand)]
    Files(ImportFiles),
    /// Incoming students no rule could match.
    #[command(subcommand)]
    Unmatched(Unmatched),
    /// Students deleted at source, as recorded (no held record is deleted).
    Deletions {
        /// At most this many.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
}

/// Import files.
#[derive(Debug, Subcommand)]
pub enum ImportFiles {
    /// The newest files first.
    List {
        /// Only this school's (Wonde id, URN or number).
        #[arg(long)]
        school: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// One file: status, counts, error log.
    Show {
        /// File id.
        id: i64,
    },
}

/// Unmatched incoming students.
#[derive(Debug, Subcommand)]
pub enum Unmatched {
    /// The open ones.
    List {
        /// Only this school's.
        #[arg(long)]
        school: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// One record: what came in, and each held student a rule nearly
    /// matched with why it did not.
    Show {
        /// Unmatched record id.
        id: i64,
    },
    /// Add as a new held student (with the same person's other records).
    Add {
        /// Unmatched record id.
        id: i64,
    },
    /// Match to a held student (with the same person's other records).
    Match {
        /// Unmatched record id.
        id: i64,
        /// The held student's id.
        student: i64,
    },
}

/// Processing rules.
#[derive(Debug, Subcommand)]
pub enum Rules {
    /// Every rule set (anything else: always put in conflict).
    List,
    /// Set the rule for a data group (`address`) or item (`address.postcode`).
    Set {
        /// Group or item.
        target: String,
        /// always_import, always_conflict, import_if_null, dont_import, or `default` to remove.
        rule: String,
        /// Only for this school (Wonde id, URN or number).
        #[arg(long)]
        school: Option<String>,
    },
    /// Whether a school's unmatched students are added as new held records.
    AddUnmatched {
        /// School.
        school: String,
        /// true or false.
        #[arg(action = clap::ArgAction::Set)]
        add: bool,
    },
}

/// Credentials plugins name (e.g. `wonde`), kept out of the database.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Store a secret, read from standard input (never from the command line).
    Set {
        /// e.g. wonde
        name: String,
        /// The only origin (https://host[:port]) the host will send it to.
        /// Needed for every secret but `wonde`, which goes to wonde.base_url
        /// and Wonde's own https hosts.
        #[arg(long)]
        origin: Option<String>,
    },
    /// The names of the secrets that are set (never their values).
    List,
}

pub(super) fn import(ctx: &Context, cmd: &Import) -> Result<()> {
    let svc = ctx.service()?;
    match cmd {
        Import::Run { school, full } => {
            let progress = (!ctx.json).then(progress_lines);
            let result = svc.import_with_progress(school, *full, progress)?;
            single(ctx.json, &result, print_result);
            super::plugins::ended(&result)?;
        }
        Import::Connect { url } => {
            svc.point_wonde_at(url, None)?;
            println!("The import now reads {url}. Set its token with `b2b secrets set wonde` (or B2B_WONDE_TOKEN).");
        }
        Import::Files(ImportFiles::List { school, limit }) => {
            super::records::files(ctx, school.as_deref(), *limit)?
        }
        Import::Files(ImportFiles::Show { id }) => single(ctx.json, &svc.file(*id)?, |d| {
            let f = &d.file;
            println!(
                "File {} from {} ({})",
                f.id,
                opt(&f.school_name),
                f.status.as_str()
            );
            println!("  received: {}", time::display(f.received_at));
            println!(
                "  records:  {}, stored {} bytes compressed",
                f.record_count, f.payload_bytes
            );
            if let Some(o) = &d.outcome {
                println!("  applied:  {o}");
            }
            if let Some(log) = &f.error_log {
                let lines: Vec<_> = log.lines().map(b2b_host::text::shown).collect();
                println!("  errors:\n    {}", lines.join("\n    "));
            }
        }),
        Import::Unmatched(Unmatched::List { school, limit }) => {
            let list = svc.unmatched(school.as_deref(), *limit)?;
            listing(
                ctx.json,
                &list,
                &[
                    "ID",
                    "SCHOOL",
                    "SURNAME",
                    "FORENAME",
                    "DOB",
                    "UPN",
                    "SOURCE ID",
                    "NEARLY MATCHES",
                ],
                |u| {
                    let near: Vec<String> = u
                        .candidates
                        .iter()
                        .map(|c| format!("student {}", c.student_id))
                        .collect();
                    vec![
                        u.id.to_string(),
                        u.school_id.to_string(),
                        opt(&u.surname),
                        opt(&u.forename),
                        opt(&u.date_of_birth),
                        opt(&u.upn),
                        b2b_host::text::shown(&u.source_id).into_owned(),
                        if near.is_empty() {
                            "-".into()
                        } else {
                            near.join(", ")
                        },
                    ]
                },
            );
        }
        Import::Unmatched(Unmatched::Show { id }) => {
            single(ctx.json, &svc.unmatched_detail(*id)?, print_unmatched)
        }
        Import::Unmatched(Unmatched::Add { id }) => {
            let student = svc.add_unmatched(*id)?;
            println!("Added unmatched record {id} as student {student}.");
        }
        Import::Unmatched(Unmatched::Match { id, student }) => {
            svc.match_unmatched(*id, *student)?;
            println!(
                "Matched unmatched record {id} to student {student}; its data was compared with the held record \
                 (differences are conflicts: `b2b conflicts list --student {student}`)."
            );
        }
        Import::Deletions { limit } => {
            let list = svc.deletions(*limit)?;
            listing(
                ctx.json,
                &list,
                &["SCHOOL", "SOURCE ID", "STUDENT", "RECORDED"],
                |d| {
                    vec![
                        d.school_id.to_string(),
                        d.source_id.clone(),
                        opt(&d.student_id),
                        time::display(d.recorded_at),
                    ]
                },
            );
        }
    }
    Ok(())
}

fn print_unmatched(d: &b2b_host::service::UnmatchedDetail) {
    let u = &d.record;
    println!("Unmatched record {} ({})", u.id, u.status);
    println!("  school:       {}", u.school_id);
    println!("  source id:    {}", b2b_host::text::shown(&u.source_id));
    println!("  received:     {}", time::display(u.received_at));
    println!(
        "  incoming:     {}, {}  born {}  UPN {}",
        opt(&u.surname),
        opt(&u.forename),
        opt(&u.date_of_birth),
        opt(&u.upn)
    );
    if d.candidates.is_empty() {
        println!("  No held student resembles it.");
    }
    for (c, held) in &d.candidates {
        let item = |key| opt(&held.value(key));
        println!(
            "  nearly matches student {}: {}, {}  born {}  gender {}  UPN {}  former UPN {}",
            held.id,
            item("basic.surname"),
            item("basic.forename"),
            item("basic.date_of_birth"),
            item("basic.gender"),
            item("identifiers.upn"),
            item("identifiers.former_upn")
        );
        println!("    why not matched: {}", b2b_host::text::shown(&c.reason));
    }
    for (other, apart) in &d.same_guid {
        match apart {
            None => println!(
                "  placed with it (same person GUID): record {} from school {}",
                other.id, other.school_id
            ),
            Some(why) => println!(
                "  not placed with it: record {} from school {}: {}",
                other.id,
                other.school_id,
                b2b_host::text::shown(why)
            ),
        }
    }
    if u.status == "open" {
        println!(
            "  Decide: `b2b import unmatched match {} STUDENT` if it is one of them, or `b2b import unmatched add {0}`.",
            u.id
        );
    }
}

/// One line on stderr per school as it ends: how many are done, and the
/// students per second so far.
fn progress_lines() -> b2b_host::import::Progress {
    let started = std::time::Instant::now();
    let done = std::sync::Mutex::new((0usize, 0usize));
    std::sync::Arc::new(move |e: &b2b_host::import::FileEvent| {
        let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
        d.0 += 1;
        d.1 += e.students;
        let rate = d.1 as f64 / started.elapsed().as_secs_f64().max(0.001);
        eprintln!(
            "[{} schools done, {:.0} students/s] {}: {} ({} students)",
            d.0,
            rate,
            e.school,
            e.status.as_str(),
            e.students
        );
    })
}

pub(super) fn rules(ctx: &Context, cmd: &Rules) -> Result<()> {
    let svc = ctx.service()?;
    match cmd {
        Rules::List => {
            let list = svc.rules()?;
            listing(
                ctx.json,
                &list,
                &["SCHOOL", "TARGET", "RULE", "SET BY"],
                |r| {
                    vec![
                        r.school_id.map_or("all".into(), |s| s.to_string()),
                        r.target.clone(),
                        r.rule.to_string(),
                        r.updated_by.clone(),
                    ]
                },
            );
        }
        Rules::Set {
            target,
            rule,
            school,
        } => {
            let parsed = if rule == "default" {
                None
            } else {
                Some(rule.parse()?)
            };
            svc.set_rule(school.as_deref(), target, parsed)?;
            println!(
                "{target}: {rule} for {}",
                school.as_deref().unwrap_or("every school")
            );
        }
        Rules::AddUnmatched { school, add } => {
            svc.set_add_unmatched(school, *add)?;
            println!(
                "{school}: unmatched students are {}",
                if *add {
                    "added as new held records"
                } else {
                    "queued for a person"
                }
            );
        }
    }
    Ok(())
}

pub(super) fn secrets(ctx: &Context, cmd: &SecretsCommand) -> Result<()> {
    let secrets = Secrets::for_db(&ctx.db);
    match cmd {
        SecretsCommand::Set { name, origin } => {
            if origin.is_none() && name != "wonde" {
                return Err(Error::invalid(format!(
                    "the `{name}` secret needs --origin https://HOST[:PORT]: the only place the host will send it"
                )));
            }
            if std::io::stdin().is_terminal() {
                eprintln!("Paste the `{name}` secret and press Enter:");
            }
            let mut value = String::new();
            std::io::stdin().lock().read_line(&mut value)?;
            secrets.set(name, &value, origin.as_deref())?;
            println!(
                "Stored the `{name}` secret in {} (readable by you only).",
                secrets.file().display()
            );
        }
        SecretsCommand::List => {
            let list = secrets.list()?;
            listing(ctx.json, &list, &["NAME", "FROM"], |(name, origin)| {
                vec![name.clone(), format!("{origin:?}").to_lowercase()]
            });
        }
    }
    Ok(())
}
