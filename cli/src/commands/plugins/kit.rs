//! `b2b plugin new` and `b2b plugin test`: the plugin author kit.

use b2b_harness::{Harness, PluginUnderTest, Verdict};
use b2b_host::error::{Error, Result};
use b2b_host::plugins::scaffold::{self, Sdk};
use clap::Subcommand;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Writing and testing plugins.
#[derive(Debug, Subcommand)]
pub enum Kit {
    /// Create a plugin crate that builds and passes its own test at once.
    New {
        /// Its id: lower-case letters, digits and dashes, e.g. auto-accept-cosmetic.
        name: String,
        /// The directory to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Run a plugin against fixtures (fresh database, real engine) and check
    /// what it did. Exits 0 when every fixture passes, 1 otherwise.
    Test {
        /// A plugin directory (built with cargo first when it holds a
        /// Cargo.toml), a .wasm beside a plugin.toml, or a built-in's id.
        plugin: String,
        /// A fixture file; repeat for several [default: every
        /// fixtures/*.toml in the plugin's directory].
        #[arg(long = "fixture")]
        fixtures: Vec<PathBuf>,
        /// Where cargo builds the plugin [default: its own target/].
        #[arg(long)]
        target_dir: Option<PathBuf>,
    },
}

pub(super) fn run(json: bool, cmd: &Kit) -> Result<()> {
    match cmd {
        Kit::New { name, dir } => new(name, dir),
        Kit::Test {
            plugin,
            fixtures,
            target_dir,
        } => test(json, plugin, fixtures, target_dir.as_deref()),
    }
}

fn new(name: &str, dir: &Path) -> Result<()> {
    let (created, sdk) = scaffold::create(name, dir)?;
    let shown = created.display();
    println!("Created {shown}, a plugin crate with one fixture.");
    match sdk {
        Sdk::Checkout(path) => println!("  It uses this checkout's SDK ({path})."),
        Sdk::Vendored => {
            println!("  It carries its own copy of the SDK and the WIT (vendor/, wit/).")
        }
    }
    println!("Next, build it and run its fixtures, then install and run it:");
    println!("  b2b plugin test {shown}");
    println!("  b2b --db la.db plugin install {shown}");
    println!("  b2b --db la.db action run {name}");
    println!(
        "docs/writing-plugins.md of the B2B host describes every host call and the fixture format."
    );
    Ok(())
}

/// One fixture's result, for `--json`.
#[derive(Serialize)]
struct Ran {
    fixture: PathBuf,
    passed: bool,
    /// Why the fixture could not run, if it could not.
    error: Option<String>,
    verdict: Option<Verdict>,
}

fn test(
    json: bool,
    reference: &str,
    fixtures: &[PathBuf],
    target_dir: Option<&Path>,
) -> Result<()> {
    let plugin = PluginUnderTest::find(reference, target_dir)?;
    let fixtures = if fixtures.is_empty() {
        plugin.fixtures()?
    } else {
        fixtures.to_vec()
    };
    let harness = Harness::new()?;
    let mut results = Vec::new();
    for fixture in fixtures {
        let ran = match harness.run(&plugin, &fixture) {
            Ok(verdict) => {
                if !json {
                    println!("{}", verdict.to_string().trim_end());
                }
                Ran {
                    fixture,
                    passed: verdict.passed(),
                    error: None,
                    verdict: Some(verdict),
                }
            }
            Err(e) => {
                if !json {
                    println!("FAIL {}: {e}", fixture.display());
                }
                Ran {
                    fixture,
                    passed: false,
                    error: Some(e.to_string()),
                    verdict: None,
                }
            }
        };
        results.push(ran);
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).expect("results serialise")
        );
    } else {
        println!("{} passed, {failed} failed", results.len() - failed);
    }
    if failed > 0 {
        return Err(Error::TestsFailed(format!(
            "{failed} of {} fixtures of {} failed",
            results.len(),
            plugin.id()
        )));
    }
    Ok(())
}
