//! Credentials plugins name but never see (DESIGN.md section 8).
//!
//! A secret comes from the environment (`B2B_<NAME>_TOKEN`, e.g.
//! `B2B_WONDE_TOKEN`) or from a file beside the database
//! (`<db>.secrets`, readable by its owner only), never from the database
//! itself, so neither a copy of the database nor a log carries it.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// `B2B_<NAME>_TOKEN`.
    Environment,
    /// The secrets file.
    File,
}

/// The secrets of one database.
#[derive(Debug, Clone)]
pub struct Secrets {
    file: PathBuf,
}

fn env_name(name: &str) -> String {
    format!("B2B_{}_TOKEN", name.to_ascii_uppercase().replace('-', "_"))
}

impl Secrets {
    /// The secrets of the database at `db`.
    pub fn for_db(db: &Path) -> Secrets {
        let mut file = db.as_os_str().to_owned();
        file.push(".secrets");
        Secrets { file: file.into() }
    }

    fn read_file(&self) -> Result<BTreeMap<String, String>> {
        match std::fs::read_to_string(&self.file) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                Error::invalid(format!(
                    "{} is not a valid secrets file: {e}",
                    self.file.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(Error::Io(format!(
                "cannot read {}: {e}",
                self.file.display()
            ))),
        }
    }

    /// The secret called `name`: the environment first, then the file.
    pub fn get(&self, name: &str) -> Result<Option<Secret>> {
        if let Ok(v) = std::env::var(env_name(name)) {
            if !v.trim().is_empty() {
                return Ok(Some(Secret(v.trim().to_string())));
            }
        }
        Ok(self.read_file()?.remove(name).map(Secret))
    }

    /// Stores a secret in the file (created readable by its owner only).
    pub fn set(&self, name: &str, value: &str) -> Result<()> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(Error::invalid(format!(
                "secret name `{name}` must be lower-case letters, digits, - or _"
            )));
        }
        if value.trim().is_empty() {
            return Err(Error::invalid("the secret is empty; nothing was stored"));
        }
        let mut all = self.read_file()?;
        all.insert(name.to_string(), value.trim().to_string());
        let text = toml::to_string(&all).expect("a map of strings serialises");
        let tmp = self.file.with_extension("secrets.tmp");
        write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, &self.file)?;
        Ok(())
    }

    /// The names of the secrets that are set, and where, without values.
    pub fn list(&self) -> Result<Vec<(String, Origin)>> {
        let mut names: BTreeMap<String, Origin> = self
            .read_file()?
            .into_keys()
            .map(|k| (k, Origin::File))
            .collect();
        for (key, _) in std::env::vars() {
            if let Some(name) = key
                .strip_prefix("B2B_")
                .and_then(|k| k.strip_suffix("_TOKEN"))
            {
                names.insert(
                    name.to_ascii_lowercase().replace('_', "-"),
                    Origin::Environment,
                );
            }
        }
        Ok(names.into_iter().collect())
    }

    /// The file secrets are kept in.
    pub fn file(&self) -> &Path {
        &self.file
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_secrets_are_private_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::for_db(&dir.path().join("b2b.db"));
        s.set("wonde-test", "tok-123").unwrap();
        assert_eq!(s.get("wonde-test").unwrap().unwrap().expose(), "tok-123");
        assert_eq!(
            format!("{:?}", s.get("wonde-test").unwrap()),
            "Some(Secret(***))"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(s.file()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by the owner only");
        }
        assert!(s.set("Bad Name", "x").is_err());
    }
}
