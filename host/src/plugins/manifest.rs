//! The manifest (`plugin.toml`) that ships beside each plugin's `.wasm`:
//! what the plugin is and which capabilities it asks for.

use crate::error::{Error, Result};
use crate::plugins::capability::Capability;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file name of a manifest.
pub const FILE_NAME: &str = "plugin.toml";

/// A parsed and checked manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Id: lower-case letters, digits and dashes, e.g. `clear-conflicts`.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Its version: plain dotted numbers, which `describe` must report too.
    pub version: String,
    /// What it does.
    pub description: String,
    /// Capabilities asked for.
    pub capabilities: Vec<Capability>,
    /// The component file named by the manifest, relative to it.
    wasm: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: String,
    name: String,
    version: String,
    description: String,
    #[serde(default)]
    capabilities: Vec<String>,
    wasm: Option<String>,
}

/// Checks a plugin id: 1 to 64 lower-case letters, digits or dashes.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "id `{id}` must be 1 to 64 lower-case letters, digits or dashes"
        )))
    }
}

/// The most of a manifest's name the host keeps.
const MAX_NAME: usize = 200;
/// The most of a manifest's description the host keeps.
const MAX_DESCRIPTION: usize = 4 << 10;

/// Checks a version: 1 to 64 letters, digits, `.`, `-`, `_` or `+`.
fn check_version(version: &str) -> Result<()> {
    let ok = !version.is_empty()
        && version.len() <= 64
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "version `{}` must be 1 to 64 letters, digits, `.`, `-`, `_` or `+`",
            crate::text::capped(version, 64)
        )))
    }
}

impl Manifest {
    /// Parses a manifest's text; `origin` names it in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest> {
        let raw: Raw = toml::from_str(text)
            .map_err(|e| Error::invalid(format!("{origin} is not a valid plugin manifest: {e}")))?;
        check_id(&raw.id).map_err(|e| Error::invalid(format!("{origin}: {e}")))?;
        let capabilities = Capability::parse_all(&raw.capabilities)
            .map_err(|e| Error::invalid(format!("{origin}: {e}")))?;
        check_version(&raw.version).map_err(|e| Error::invalid(format!("{origin}: {e}")))?;
        // Shown to the admin who decides the grant: escaped, and short.
        Ok(Manifest {
            id: raw.id,
            name: crate::text::capped(&raw.name, MAX_NAME),
            version: raw.version,
            description: crate::text::capped(&raw.description, MAX_DESCRIPTION),
            capabilities,
            wasm: raw.wasm,
        })
    }

    /// Finds and reads a plugin from a directory holding `plugin.toml` (and
    /// its `.wasm`), or from a `.wasm` file with `plugin.toml` beside it.
    /// Returns the manifest and the component's path.
    pub fn locate(path: &Path) -> Result<(Manifest, PathBuf)> {
        let dir = if path.is_dir() {
            path
        } else {
            path.parent().unwrap_or(Path::new("."))
        };
        let manifest = Manifest::read(dir)?;
        let wasm = if path.is_file() {
            path.to_path_buf()
        } else {
            manifest.find_wasm(dir)?
        };
        Ok((manifest, wasm))
    }

    /// Reads the manifest in `dir`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let manifest_path = dir.join(FILE_NAME);
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
            Error::not_found(format!(
                "cannot read {}: {e}; a plugin ships a {FILE_NAME} manifest beside its .wasm",
                manifest_path.display()
            ))
        })?;
        Manifest::parse(&text, &manifest_path.display().to_string())
    }

    /// The component in `dir`: the one the manifest names, else the only
    /// `.wasm` there, else the crate's release build for wasm32-wasip2.
    fn find_wasm(&self, dir: &Path) -> Result<PathBuf> {
        if let Some(name) = &self.wasm {
            return Ok(dir.join(name));
        }
        let in_dir: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        match in_dir.len() {
            1 => return Ok(in_dir.into_iter().next().expect("one file")),
            0 => {}
            _ => {
                return Err(Error::invalid(format!(
                    "{} holds several .wasm files; name the one to install with `wasm = \"...\"` in {FILE_NAME}",
                    dir.display()
                )))
            }
        }
        let built = dir
            .join("target/wasm32-wasip2/release")
            .join(format!("{}.wasm", self.id.replace('-', "_")));
        if built.is_file() {
            return Ok(built);
        }
        Err(Error::not_found(format!(
            "no .wasm found for plugin `{}` in {}; build it with `cargo build --target wasm32-wasip2 --release` \
             or put the .wasm beside {FILE_NAME}",
            self.id,
            dir.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        id = "tidy"
        name = "Tidy"
        version = "1.0.0"
        description = "tidies"
        capabilities = ["conflicts:read", "conflicts:read"]
    "#;

    #[test]
    fn parses_and_dedups_capabilities() {
        let m = Manifest::parse(GOOD, "test").unwrap();
        assert_eq!(m.capabilities, vec![Capability::ConflictsRead]);
    }

    #[test]
    fn unknown_capability_is_named() {
        let err =
            Manifest::parse(&GOOD.replace("conflicts:read\"]", "root\"]"), "test").unwrap_err();
        assert!(
            err.to_string().contains("unknown capability `root`"),
            "{err}"
        );
    }

    #[test]
    fn bad_id_is_refused() {
        let err = Manifest::parse(&GOOD.replace("\"tidy\"", "\"Tidy Up\""), "test").unwrap_err();
        assert!(err.to_string().contains("lower-case"), "{err}");
    }
}
