//! The `b2b` command line: subcommands by noun, each a thin layer over
//! [`b2b_host::service`]. Errors print what is wrong and what to do, and exit
//! with the stable codes of [`b2b_host::error::Error::exit_code`].

mod conflicts;
mod import;
mod output;
mod plugins;
mod records;
mod sandbox;
mod tasks;

use b2b_host::actor::Actor;
use b2b_host::error::Result;
use b2b_host::service::Service;
use clap::{Parser, Subcommand};
use std::cell::OnceCell;
use std::path::PathBuf;

/// B2B Student: school student data into the LA's database, and the
/// actions that keep it tidy, each a sandboxed plugin.
#[derive(Debug, Parser)]
#[command(name = "b2b", version, about)]
pub struct Cli {
    /// The database file [default: b2b.db; for `demo`, b2b-demo.db].
    #[arg(long, global = true, env = "B2B_DB")]
    db: Option<PathBuf>,
    /// Print listings and results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new, empty database.
    Init,
    /// Build a demo database and run the three maintenance actions on it.
    Demo,
    /// Run actions.
    #[command(subcommand)]
    Action(plugins::Action),
    /// Action run history.
    #[command(subcommand)]
    Runs(records::Runs),
    /// Data conflicts.
    #[command(subcommand)]
    Conflicts(conflicts::Command),
    /// Held student records.
    #[command(subcommand)]
    Students(records::Students),
    /// Schools data comes from.
    #[command(subcommand)]
    Schools(SchoolsCommand),
    /// Import files (virtual files).
    #[command(subcommand)]
    Files(FilesCommand),
    /// System Defaults.
    #[command(subcommand)]
    Defaults(records::Defaults),
    /// Install, grant and manage plugins; write and test your own (new, test).
    #[command(subcommand)]
    Plugin(plugins::Plugin),
    /// Serve made-up schools the way Wonde does, to try the import without an account.
    WondeSandbox(sandbox::SandboxArgs),
    /// The Wonde import: run it, its files, the unmatched, deletions.
    #[command(subcommand)]
    Import(import::Import),
    /// Processing rules: how incoming data is applied.
    #[command(subcommand)]
    Rules(import::Rules),
    /// Credentials such as the Wonde token (never stored in the database).
    #[command(subcommand)]
    Secrets(import::SecretsCommand),
    /// Scheduled tasks.
    #[command(subcommand)]
    Task(tasks::Task),
    /// Run scheduled tasks until stopped (SIGTERM or Ctrl-C).
    ///
    /// One `serve` holds a database at a time; another started on it says
    /// who holds it and waits as a standby, taking over if the holder's
    /// lease lapses.
    Serve {
        /// Seconds running tasks get to finish when stopping; those still
        /// going are stopped within it and recorded as interrupted.
        #[arg(long, default_value_t = 60)]
        grace: u64,
        /// Seconds the lease on the database lasts unless renewed (every
        /// third of it): how soon a standby takes over from a holder that died.
        #[arg(long, default_value_t = 30)]
        lease_secs: u64,
    },
}

#[derive(Debug, Subcommand)]
enum SchoolsCommand {
    /// Every school.
    List,
}

#[derive(Debug, Subcommand)]
enum FilesCommand {
    /// The newest files first.
    List {
        /// Only this school's (Wonde id, URN or number).
        #[arg(long)]
        school: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// What every subcommand needs: the options and a service opened on demand.
pub(crate) struct Context {
    db: PathBuf,
    json: bool,
    service: OnceCell<Service>,
}

impl Context {
    fn service(&self) -> Result<&Service> {
        if let Some(s) = self.service.get() {
            return Ok(s);
        }
        let s = Service::open(&self.db, Actor::cli_user())?;
        Ok(self.service.get_or_init(|| s))
    }
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let default = if matches!(cli.command, Command::Demo) {
        "b2b-demo.db"
    } else {
        "b2b.db"
    };
    let db = cli.db.clone().unwrap_or_else(|| PathBuf::from(default));
    let ctx = Context {
        db,
        json: cli.json,
        service: OnceCell::new(),
    };
    match dispatch(&ctx, &cli.command) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn dispatch(ctx: &Context, command: &Command) -> Result<()> {
    match command {
        Command::Init => {
            Service::create(&ctx.db, Actor::cli_user())?;
            println!(
                "Created {}. Next: `b2b --db {0} plugin list`.",
                ctx.db.display()
            );
            Ok(())
        }
        Command::Demo => crate::demo::run(&ctx.db),
        Command::Action(cmd) => plugins::action(ctx, cmd),
        Command::Runs(cmd) => records::runs(ctx, cmd),
        Command::Conflicts(cmd) => conflicts::run(ctx, cmd),
        Command::Students(cmd) => records::students(ctx, cmd),
        Command::Schools(SchoolsCommand::List) => records::schools(ctx),
        Command::Files(FilesCommand::List { school, limit }) => {
            records::files(ctx, school.as_deref(), *limit)
        }
        Command::Defaults(cmd) => records::defaults(ctx, cmd),
        Command::Plugin(cmd) => plugins::plugin(ctx, cmd),
        Command::WondeSandbox(args) => sandbox::run(args),
        Command::Import(cmd) => import::import(ctx, cmd),
        Command::Rules(cmd) => import::rules(ctx, cmd),
        Command::Secrets(cmd) => import::secrets(ctx, cmd),
        Command::Task(cmd) => tasks::task(ctx, cmd),
        Command::Serve { grace, lease_secs } => tasks::serve(ctx, *grace, *lease_secs),
    }
}
