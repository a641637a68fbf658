//! `b2b conflicts`: list, show, accept, discard.

use super::output::{listing, opt, single};
use super::Context;
use b2b_host::error::Result;
use b2b_host::service::Selection;
use b2b_host::storage::conflicts::Filter;
use b2b_host::time;
use clap::{Args, Subcommand};

/// Work through data conflicts.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List conflicts (open ones unless --status is given).
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// open, accepted, discarded or cleared.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Show one conflict with the current held value and its history.
    Show {
        /// Conflict id.
        id: i64,
    },
    /// Take the incoming values into the held records.
    Accept(Bulk),
    /// Keep the held values.
    Discard(Bulk),
}

/// Filters shared by listing and bulk actions.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only this school's (Wonde id, URN or number).
    #[arg(long)]
    school: Option<String>,
    /// Only this student's (id).
    #[arg(long)]
    student: Option<i64>,
    /// Only this data item, e.g. basic.surname.
    #[arg(long)]
    item: Option<String>,
}

/// Which conflicts to resolve.
#[derive(Debug, Args)]
pub struct Bulk {
    /// Conflict ids.
    ids: Vec<i64>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Every open conflict the filter matches, even with no filter.
    #[arg(long)]
    all: bool,
}

impl FilterArgs {
    fn to_filter(&self, ctx: &Context) -> Result<Filter> {
        Ok(Filter {
            school_id: self
                .school
                .as_deref()
                .map(|s| ctx.service()?.school(s))
                .transpose()?
                .map(|s| s.id),
            student_id: self.student,
            item: self.item.clone(),
            ..Filter::default()
        })
    }
}

pub(super) fn run(ctx: &Context, cmd: &Command) -> Result<()> {
    let svc = ctx.service()?;
    match cmd {
        Command::List {
            filter,
            status,
            limit,
        } => {
            let mut f = filter.to_filter(ctx)?;
            f.status = status.as_deref().map(str::parse).transpose()?;
            let list = svc.conflicts(&f, *limit)?;
            listing(
                ctx.json,
                &list,
                &[
                    "ID", "STUDENT", "ITEM", "HELD", "INCOMING", "RAISED", "STATUS",
                ],
                |c| {
                    vec![
                        c.id.to_string(),
                        format!("{} ({})", c.student_name, c.student_id),
                        c.item.clone(),
                        opt(&c.held_value),
                        opt(&c.incoming_value),
                        time::display(c.raised_at),
                        c.status.to_string(),
                    ]
                },
            );
        }
        Command::Show { id } => {
            let d = svc.conflict(*id)?;
            single(ctx.json, &d, |d| {
                let c = &d.conflict;
                println!("Conflict {} ({})", c.id, c.status);
                println!(
                    "  student:        {} ({})",
                    b2b_host::text::shown(&c.student_name),
                    c.student_id
                );
                println!("  item:           {} ({})", d.item.label, c.item);
                println!("  held at raise:  {}", opt(&c.held_value));
                println!("  held now:       {}", opt(&d.held_now));
                println!("  incoming:       {}", opt(&c.incoming_value));
                println!("  raised:         {}", time::display(c.raised_at));
                if let (Some(by), Some(at)) = (&c.resolved_by, c.resolved_at) {
                    println!("  resolved:       by {by} at {}", time::display(at));
                }
                for h in &d.history {
                    println!(
                        "  history:        {} {} by {}",
                        time::display(h.at),
                        h.action,
                        h.actor
                    );
                }
            });
        }
        Command::Accept(bulk) => {
            let n = svc.accept_conflicts(&bulk.selection(ctx)?)?;
            println!("Accepted {n} conflict(s): the incoming values are now held.");
        }
        Command::Discard(bulk) => {
            let n = svc.discard_conflicts(&bulk.selection(ctx)?)?;
            println!("Discarded {n} conflict(s): the held values stay.");
        }
    }
    Ok(())
}

impl Bulk {
    fn selection(&self, ctx: &Context) -> Result<Selection> {
        let mut filter = self.filter.to_filter(ctx)?;
        filter.ids = self.ids.clone();
        Ok(Selection {
            filter,
            all: self.all,
        })
    }
}
