//! `b2b plugin new`: a plugin crate that builds to a component and passes its
//! own fixture at once.
//!
//! Inside a checkout of the host the crate uses the checkout's SDK by path.
//! Anywhere else the SDK and the WIT are not reachable, so the copies
//! embedded in this binary (listed by the build script) are written into the
//! crate, with the `Cargo.lock` and toolchain the SDK was tested with.

use crate::error::{Error, Result};
use crate::plugins::builtin;
use crate::plugins::manifest::check_id;
use std::path::{Path, PathBuf};

/// `(path in the new plugin, contents)` of the WIT and SDK files.
const KIT: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/kit.rs"));
/// The versions the SDK was built and tested with.
const LOCK: &str = include_str!("../../../plugins/Cargo.lock");
/// The toolchain, with the wasm32-wasip2 target, that builds the SDK.
const TOOLCHAIN: &str = include_str!("../../../rust-toolchain.toml");

/// The crate's files: path and template.
const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("template/Cargo.toml.in")),
    ("plugin.toml", include_str!("template/plugin.toml.in")),
    ("src/lib.rs", include_str!("template/lib.rs.in")),
    (
        "fixtures/basic.toml",
        include_str!("template/fixture.toml.in"),
    ),
    ("README.md", include_str!("template/README.md.in")),
    (".gitignore", include_str!("template/gitignore.in")),
];

/// Where the SDK a new plugin uses comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sdk {
    /// The checkout the plugin was made in, at this path from the plugin.
    Checkout(String),
    /// Copies written into the plugin.
    Vendored,
}

/// Creates the plugin `id` in a new directory under `parent` (created if
/// need be); returns the directory and where its SDK comes from.
pub fn create(id: &str, parent: &Path) -> Result<(PathBuf, Sdk)> {
    check_name(id)?;
    let dir = parent.join(id);
    if dir.exists() {
        return Err(Error::invalid(format!(
            "{} already exists; choose another name or another --dir",
            dir.display()
        )));
    }
    std::fs::create_dir_all(parent)?;
    let parent = parent.canonicalize()?;
    let sdk = match checkout_of(&parent) {
        Some(root) => Sdk::Checkout(sdk_path(root, &parent)),
        None => Sdk::Vendored,
    };
    let dir = parent.join(id);
    for (path, template) in TEMPLATES {
        write(&dir, path, &render(template, id, &sdk))?;
    }
    write(&dir, "Cargo.lock", LOCK)?;
    if sdk == Sdk::Vendored {
        write(&dir, "rust-toolchain.toml", TOOLCHAIN)?;
        for (path, text) in KIT {
            write(&dir, path, text)?;
        }
    }
    Ok((dir, sdk))
}

/// A plugin id that is also a cargo package name, and not a built-in's.
fn check_name(id: &str) -> Result<()> {
    check_id(id)?;
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(Error::invalid(format!(
            "`{id}` must start with a letter, as a cargo package name does"
        )));
    }
    if builtin::find(id).is_some() {
        return Err(Error::invalid(format!(
            "`{id}` is the id of a built-in action; give your plugin another name"
        )));
    }
    Ok(())
}

/// The checkout of the host that `dir` is in, if any: a directory with the
/// WIT and the SDK where this repository keeps them.
fn checkout_of(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .find(|d| d.join("wit/b2b.wit").is_file() && d.join("plugins/sdk/Cargo.toml").is_file())
}

/// The SDK's path from a plugin made in `parent`, inside the checkout `root`.
fn sdk_path(root: &Path, parent: &Path) -> String {
    let depth = parent
        .strip_prefix(root)
        .map_or(0, |p| p.components().count());
    format!("{}plugins/sdk", "../".repeat(depth + 1))
}

fn render(template: &str, id: &str, sdk: &Sdk) -> String {
    let (path, note) = match sdk {
        Sdk::Checkout(path) => (path.clone(), "- The SDK and the WIT are those of the checkout it was made in.\n".to_string()),
        Sdk::Vendored => (
            "vendor/b2b-plugin-sdk".to_string(),
            "- `vendor/b2b-plugin-sdk/` and `wit/`: the SDK and the WIT contract it is built against,\n  \
             as shipped with the `b2b` that created it; `Cargo.lock` and `rust-toolchain.toml` pin\n  \
             the versions they were tested with.\n"
                .to_string(),
        ),
    };
    template
        .replace("{{id}}", id)
        .replace("{{title}}", &title(id))
        .replace("{{sdk}}", &path)
        .replace("{{vendored}}", &note)
}

/// `auto-accept-cosmetic` as `Auto Accept Cosmetic`.
fn title(id: &str) -> String {
    id.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn write(dir: &Path, path: &str, text: &str) -> Result<()> {
    let path = dir.join(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, text)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_ids_and_package_names_and_not_built_in() {
        assert!(check_name("auto-accept-cosmetic").is_ok());
        for bad in ["Auto", "2fast", "has space", "clear-cache", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn titles_and_sdk_paths() {
        assert_eq!(title("auto-accept-cosmetic"), "Auto Accept Cosmetic");
        let root = Path::new("/repo");
        assert_eq!(
            sdk_path(root, Path::new("/repo/examples")),
            "../../plugins/sdk"
        );
        assert_eq!(sdk_path(root, root), "../plugins/sdk");
    }

    #[test]
    fn the_kit_holds_the_wit_and_the_sdk_it_points_at() {
        let has = |path: &str| KIT.iter().any(|(p, _)| *p == path);
        assert!(has("wit/b2b.wit") && has("vendor/b2b-plugin-sdk/src/lib.rs"));
        let (_, sdk_toml) = KIT
            .iter()
            .find(|(p, _)| *p == "vendor/b2b-plugin-sdk/Cargo.toml")
            .unwrap();
        assert!(!sdk_toml.contains("workspace"), "{sdk_toml}");
    }
}
