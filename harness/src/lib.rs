//! The plugin test harness: runs an action against a fixture and checks
//! what it did.
//!
//! Each fixture gets a fresh temporary database, seeded through the storage
//! layer, with the plugin installed under the fixture's grant; the action
//! runs through the real engine and services (limits, transaction, HTTP
//! checks and retries, with scripted answers instead of the network), and
//! the database, report and log are then checked against the fixture's
//! `[expect]`. `b2b plugin test` is a thin layer over this; a plugin's
//! `cargo test` can call it too:
//!
//! ```no_run
//! use b2b_harness::{Harness, PluginUnderTest};
//! let plugin = PluginUnderTest::find("examples/auto-accept-cosmetic", None).unwrap();
//! let harness = Harness::new().unwrap();
//! for fixture in plugin.fixtures().unwrap() {
//!     let verdict = harness.run(&plugin, &fixture).unwrap();
//!     assert!(verdict.passed(), "{verdict}");
//! }
//! ```

mod build;
mod expect;
mod fixture;
mod seed;

pub use expect::Mismatch;

use b2b_host::actor::Actor;
use b2b_host::engine::denied_in;
use b2b_host::engine::{compile_cache, Engine, Report};
use b2b_host::error::{Error, Result};
use b2b_host::plugins::builtin;
use b2b_host::plugins::capability::Capability;
use b2b_host::plugins::manifest::Manifest;
use b2b_host::service::{GrantChoice, RunOptions, Service};
use fixture::Fixture;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The directory of a plugin's own fixtures.
const FIXTURES_DIR: &str = "fixtures";

/// The plugin a fixture runs.
#[derive(Debug, Clone)]
pub enum PluginUnderTest {
    /// A built-in action, by id, as embedded in this binary.
    Builtin(String),
    /// A plugin from its files.
    Files {
        /// The directory holding its `plugin.toml` (and its fixtures).
        dir: PathBuf,
        /// Its manifest, read from the directory.
        manifest: Manifest,
        /// The component to install, built or found beside the manifest.
        wasm: PathBuf,
    },
}

impl PluginUnderTest {
    /// Finds the plugin `reference` names: a plugin directory (built first
    /// with cargo when it holds a `Cargo.toml`, into `target_dir` or its own
    /// `target/`), a `.wasm` beside a `plugin.toml`, or a built-in's id.
    pub fn find(reference: &str, target_dir: Option<&Path>) -> Result<PluginUnderTest> {
        let path = Path::new(reference);
        if path.is_dir() {
            let manifest = Manifest::read(path)?;
            refuse_builtin_id(&manifest.id)?;
            let wasm = if path.join("Cargo.toml").is_file() {
                build::build(path, target_dir)?
            } else {
                Manifest::locate(path)?.1
            };
            return Ok(PluginUnderTest::Files {
                dir: path.to_path_buf(),
                manifest,
                wasm,
            });
        }
        if path.is_file() {
            let (manifest, wasm) = Manifest::locate(path)?;
            refuse_builtin_id(&manifest.id)?;
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            return Ok(PluginUnderTest::Files {
                dir,
                manifest,
                wasm,
            });
        }
        if builtin::find(reference).is_some() {
            return Ok(PluginUnderTest::Builtin(reference.to_string()));
        }
        Err(Error::not_found(format!(
            "`{reference}` is not a plugin directory, a .wasm file or a built-in action; \
             point at the directory holding its plugin.toml"
        )))
    }

    /// The plugin's id.
    pub fn id(&self) -> &str {
        match self {
            PluginUnderTest::Builtin(id) => id,
            PluginUnderTest::Files { manifest, .. } => &manifest.id,
        }
    }

    /// Its own fixtures: `fixtures/*.toml` in its directory, in name order.
    pub fn fixtures(&self) -> Result<Vec<PathBuf>> {
        let PluginUnderTest::Files { dir, .. } = self else {
            return Err(Error::invalid(format!(
                "built-in `{}` has no fixtures directory; name fixture files with --fixture",
                self.id()
            )));
        };
        let fixtures_dir = dir.join(FIXTURES_DIR);
        let found = toml_files(&fixtures_dir)?;
        if found.is_empty() {
            return Err(Error::not_found(format!(
                "{} holds no .toml fixtures; add one (docs/writing-plugins.md shows the format) \
                 or name one with --fixture",
                fixtures_dir.display()
            )));
        }
        Ok(found)
    }

    /// Installs it in `svc` with `grant` (the manifest's whole request when
    /// `None`); a built-in is already installed and has its grant set.
    fn install(&self, svc: &Service, grant: Option<&[String]>) -> Result<()> {
        let grant = grant.map(Capability::parse_all).transpose()?;
        match self {
            PluginUnderTest::Files { manifest, wasm, .. } => {
                let choice = grant.map_or(GrantChoice::AllRequested, GrantChoice::Only);
                svc.install_component(manifest, wasm, choice).map(drop)
            }
            PluginUnderTest::Builtin(id) => match grant {
                Some(grant) => regrant(svc, id, &grant),
                None => Ok(()),
            },
        }
    }
}

/// The `.toml` files in `dir`, in name order.
pub fn toml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::not_found(format!("cannot read {}: {e}", dir.display())))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    found.sort();
    Ok(found)
}

fn refuse_builtin_id(id: &str) -> Result<()> {
    if builtin::find(id).is_some() {
        return Err(Error::invalid(format!(
            "`{id}` is a built-in action; test the one in this binary by its id: \
             `b2b plugin test {id} --fixture FILE`"
        )));
    }
    Ok(())
}

/// Sets a built-in's grant to exactly `grant`.
fn regrant(svc: &Service, id: &str, grant: &[Capability]) -> Result<()> {
    let record = b2b_host::storage::plugins::get(svc.conn(), id)?;
    let current = Capability::parse_all(&record.granted)?;
    let revoked: Vec<Capability> = current
        .iter()
        .filter(|c| !grant.contains(c))
        .cloned()
        .collect();
    svc.grant(id, &revoked, true)?;
    svc.grant(id, grant, false).map(drop)
}

/// Runs fixtures, sharing one engine so each plugin compiles once.
pub struct Harness {
    engine: Arc<Engine>,
}

/// What running one fixture found.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The fixture file.
    pub fixture: PathBuf,
    /// The plugin's id.
    pub plugin: String,
    /// The report, or why the run failed or could not start.
    pub outcome: Outcome,
    /// Each expectation that did not hold.
    pub mismatches: Vec<Mismatch>,
    /// The run log.
    pub log: String,
}

impl Verdict {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

impl Harness {
    /// A harness with its own engine, caching compiled code where the CLI does.
    pub fn new() -> Result<Harness> {
        Ok(Self::with_engine(Arc::new(Engine::new(
            compile_cache::default_dir(),
        )?)))
    }

    /// A harness over an engine already started (a test process's).
    pub fn with_engine(engine: Arc<Engine>) -> Harness {
        Harness { engine }
    }

    /// Runs `plugin` against the fixture at `path` in a fresh temporary
    /// database. `Err` means the fixture could not be run as written (it does
    /// not parse, names something it does not seed, or the plugin could not
    /// be installed); a run that does not do what the fixture expects is a
    /// [`Verdict`] with mismatches.
    pub fn run(&self, plugin: &PluginUnderTest, path: &Path) -> Result<Verdict> {
        let in_fixture = |e: Error| Error::invalid(format!("{}: {e}", path.display()));
        let fixture = Fixture::load(path)?;
        let dir = tempfile::tempdir()?;
        let svc = Service::create(&dir.path().join("b2b.db"), Actor::named("harness"))?
            .with_engine(Arc::clone(&self.engine));
        plugin
            .install(&svc, fixture.grant.as_deref())
            .map_err(in_fixture)?;
        let seeded = seed::seed(&svc, &fixture).map_err(in_fixture)?;
        let (outcome, log) = run_once(&svc, plugin, &fixture, path).map_err(in_fixture)?;
        let denied = denied_in(&log, plugin.id());
        let ran = expect::Ran {
            outcome: &outcome,
            log: &log,
            denied: &denied,
        };
        let mismatches =
            expect::check(svc.conn(), &fixture.expect, &seeded, &ran).map_err(in_fixture)?;
        Ok(Verdict {
            fixture: path.to_path_buf(),
            plugin: plugin.id().to_string(),
            outcome,
            mismatches,
            log,
        })
    }
}

/// A run's report, or why it failed.
type Outcome = std::result::Result<Report, String>;

/// Runs `plugin` once with the fixture's parameters and HTTP script. A run
/// that cannot start (e.g. a parameter it does not take) is a failed
/// outcome, so that a fixture can expect it.
fn run_once(
    svc: &Service,
    plugin: &PluginUnderTest,
    fixture: &Fixture,
    path: &Path,
) -> Result<(Outcome, String)> {
    let options = RunOptions {
        env: b2b_host::engine::RunEnv {
            http_script: Some(fixture.http_script(path.parent().unwrap_or(Path::new(".")))?),
            ..Default::default()
        },
        ..RunOptions::default()
    };
    let params = fixture.params()?;
    Ok(match svc.run_action_with(plugin.id(), &params, options) {
        Ok(result) => (result.outcome, result.log),
        Err(e) => (Err(format!("the run could not start: {e}")), String::new()),
    })
}

/// `ok` with the report, or `FAIL` with each expectation expected vs actual
/// and the run log.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.fixture.display();
        if self.passed() {
            return match &self.outcome {
                Ok(r) => write!(
                    f,
                    "ok   {name}: examined {}, changed {}, skipped {}",
                    r.examined, r.changed, r.skipped
                ),
                Err(e) => write!(f, "ok   {name}: failed as expected: {e}"),
            };
        }
        writeln!(f, "FAIL {name} ({})", self.plugin)?;
        for m in &self.mismatches {
            writeln!(f, "  {}", m.what)?;
            writeln!(f, "    expected: {}", m.expected)?;
            writeln!(f, "    actual:   {}", m.actual)?;
        }
        writeln!(f, "  run log:")?;
        if self.log.is_empty() {
            writeln!(f, "    (empty)")?;
        }
        for line in self.log.lines() {
            writeln!(f, "    {line}")?;
        }
        Ok(())
    }
}
