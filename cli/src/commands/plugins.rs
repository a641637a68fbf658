//! `b2b plugin ...` and `b2b action run`.

mod kit;

use super::output::{listing, single};
use super::Context;
use b2b_host::error::{Error, Result};
use b2b_host::plugins::capability::Capability;
use b2b_host::service::{parse_param, ActionResult, ActionStatus, GrantChoice};
use b2b_host::text::shown;
use b2b_host::time;
use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Manage plugins, and write and test your own.
#[derive(Debug, Subcommand)]
pub enum Plugin {
    /// Installing, granting and removing plugins (these open the database).
    #[command(flatten)]
    Manage(Manage),
    /// Writing and testing plugins (these need no database).
    #[command(flatten)]
    Kit(kit::Kit),
}

/// Manage installed plugins.
#[derive(Debug, Subcommand)]
pub enum Manage {
    /// Installed and built-in plugins with their grants.
    List,
    /// Show what a plugin file (or an installed plugin's id) is and asks for.
    Inspect {
        /// A directory with plugin.toml, a .wasm beside one, or an installed id.
        target: String,
    },
    /// Install a plugin from a directory with plugin.toml (or its .wasm),
    /// showing what it asks for and recording the grant.
    Install {
        /// Directory or .wasm file.
        path: PathBuf,
        /// Grant everything it asks for without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Grant only these (comma separated), e.g. conflicts:read.
        #[arg(long, value_delimiter = ',')]
        grant: Option<Vec<String>>,
    },
    /// Grant (or with --revoke take back) capabilities it asks for.
    Grant {
        /// Plugin id.
        id: String,
        /// Capabilities, e.g. conflicts:write.
        #[arg(required = true)]
        capabilities: Vec<String>,
        /// Take them back instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Let a disabled plugin run again.
    Enable {
        /// Plugin id.
        id: String,
    },
    /// Stop a plugin from running (its grant is kept).
    Disable {
        /// Plugin id.
        id: String,
    },
    /// Remove an installed plugin.
    Remove {
        /// Plugin id.
        id: String,
    },
}

/// Run actions.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Run an action now, e.g. `b2b action run clear-cache --param all=true`.
    Run {
        /// Plugin id.
        name: String,
        /// Parameters as name=value; repeat for several.
        #[arg(long = "param", short = 'p')]
        params: Vec<String>,
    },
}

pub(super) fn plugin(ctx: &Context, cmd: &Plugin) -> Result<()> {
    match cmd {
        Plugin::Manage(cmd) => manage(ctx, cmd),
        Plugin::Kit(cmd) => kit::run(ctx.json, cmd),
    }
}

fn manage(ctx: &Context, cmd: &Manage) -> Result<()> {
    let svc = ctx.service()?;
    match cmd {
        Manage::List => {
            let list = svc.plugins()?;
            listing(
                ctx.json,
                &list,
                &["ID", "VERSION", "SOURCE", "ENABLED", "GRANTED"],
                |p| {
                    vec![
                        p.id.clone(),
                        p.version.clone(),
                        format!("{:?}", p.source).to_lowercase(),
                        p.enabled.to_string(),
                        p.granted.join(", "),
                    ]
                },
            );
        }
        Manage::Inspect { target } => {
            let path = Path::new(target);
            if !path.exists() {
                let r = svc.plugin(target)?;
                single(ctx.json, &r, |r| {
                    println!(
                        "{} {} ({:?}), {}",
                        r.id,
                        r.version,
                        r.source,
                        if r.enabled { "enabled" } else { "disabled" }
                    );
                    println!("  {}", r.description);
                    println!("  asks for: {}", r.requested.join(", "));
                    println!("  granted:  {}", r.granted.join(", "));
                    println!("  sha256:   {}", r.sha256);
                    println!(
                        "  installed by {} at {}",
                        r.installed_by,
                        time::display(r.installed_at)
                    );
                });
                return Ok(());
            }
            let i = svc.inspect(path)?;
            single(ctx.json, &i, print_inspection);
        }
        Manage::Install { path, yes, grant } => {
            let inspection = svc.inspect(path)?;
            let choice = match grant {
                Some(names) => GrantChoice::Only(Capability::parse_all(names)?),
                None if *yes || inspection.requested.is_empty() => GrantChoice::AllRequested,
                None => {
                    print_inspection(&inspection);
                    confirm_grant()?
                }
            };
            let r = svc.install(path, choice)?;
            println!(
                "Installed {} {}, granted: {}.",
                r.id,
                r.version,
                if r.granted.is_empty() {
                    "nothing".into()
                } else {
                    r.granted.join(", ")
                }
            );
        }
        Manage::Grant {
            id,
            capabilities,
            revoke,
        } => {
            let r = svc.grant(id, &Capability::parse_all(capabilities)?, *revoke)?;
            println!(
                "{} is now granted: {}",
                r.id,
                if r.granted.is_empty() {
                    "nothing".into()
                } else {
                    r.granted.join(", ")
                }
            );
        }
        Manage::Enable { id } => {
            svc.set_plugin_enabled(id, true)?;
            println!("{id} is enabled.");
        }
        Manage::Disable { id } => {
            svc.set_plugin_enabled(id, false)?;
            println!("{id} is disabled.");
        }
        Manage::Remove { id } => {
            svc.remove_plugin(id)?;
            println!("{id} is removed.");
        }
    }
    Ok(())
}

/// What a plugin file is and asks for. The capabilities come last, as the
/// host parsed them from the manifest, so that they are what an admin reads
/// right before deciding; every text from the plugin is already escaped.
fn print_inspection(i: &b2b_host::service::Inspection) {
    let d = &i.descriptor;
    println!("{} {}: {}", d.id, d.version, d.name);
    println!("  {}", d.description);
    println!(
        "  file:   {} (sha256 {})",
        shown(&i.wasm.display().to_string()),
        i.sha256
    );
    println!("  parameters:");
    if d.params.is_empty() {
        println!("    none");
    }
    for p in &d.params {
        let default = p
            .default
            .as_deref()
            .map(|v| format!(" (default {})", shown(v)))
            .unwrap_or_default();
        println!("    {:<16} {}{default}", p.name, p.description);
    }
    println!(
        "  asks for {} capabilit{}:",
        i.requested.len(),
        if i.requested.len() == 1 { "y" } else { "ies" }
    );
    if i.requested.is_empty() {
        println!("    nothing");
    }
    for (name, what) in &i.requested {
        println!("    {name:<16} {what}");
    }
}

fn confirm_grant() -> Result<GrantChoice> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "installing needs a decision on what to grant: pass --yes to grant everything it asks for, \
             or --grant CAP,... to grant part of it",
        ));
    }
    print!("Grant everything it asks for? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(GrantChoice::AllRequested)
    } else {
        Err(Error::Refused("nothing was installed".into()))
    }
}

pub(super) fn action(ctx: &Context, cmd: &Action) -> Result<()> {
    let Action::Run { name, params } = cmd;
    let params = params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<Vec<_>>>()?;
    let result = ctx.service()?.run_action(name, &params)?;
    single(ctx.json, &result, print_result);
    ended(&result)
}

/// The exit a script relies on for a finished run: 0 when it succeeded, 8
/// when it ended partial (some schools failed, the rest kept), 5 when it
/// failed.
pub(crate) fn ended(result: &ActionResult) -> Result<()> {
    let (id, run) = (&result.plugin_id, result.run_id);
    match (&result.outcome, result.status) {
        (Ok(_), ActionStatus::Partial) => Err(Error::Partial(format!(
            "{id} ended partial (run {run}): part of its work failed and the rest was kept; \
             `b2b runs show {run}` says which and why"
        ))),
        (Ok(_), _) => Ok(()),
        (Err(e), _) => Err(Error::ActionFailed(format!(
            "{id} failed (run {run}): {e} `b2b runs show {run}` has its log"
        ))),
    }
}

/// Prints a run's outcome for a person.
pub(crate) fn print_result(r: &ActionResult) {
    match &r.outcome {
        Ok(rep) => println!(
            "{} (run {}) {}: {}\n  examined {}, changed {}, skipped {}",
            r.plugin_id,
            r.run_id,
            r.status.as_str(),
            rep.summary,
            rep.examined,
            rep.changed,
            rep.skipped
        ),
        Err(e) => println!("{} (run {}) failed: {e}", r.plugin_id, r.run_id),
    }
}
