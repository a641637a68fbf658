//! Credentials plugins name but never see (docs/architecture.md, "One run, end to end").
//!
//! A secret comes from the environment (`B2B_<NAME>_TOKEN`, e.g.
//! `B2B_WONDE_TOKEN`) or from a file beside the database
//! (`<db>.secrets`, readable by its owner only), never from the database
//! itself, so neither a copy of the database nor a log carries it.
//!
//! Each secret may name the origin (`https://host[:port]`) it belongs to
//! (`B2B_<NAME>_ORIGIN`, or `b2b secrets set NAME --origin URL`): the host
//! sends it nowhere else. The `wonde` secret is also bound to the configured
//! Wonde base URL and Wonde's own hosts; any other secret needs an origin.

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

/// A secret and the origin it may be sent to.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The value, which is never logged or shown.
    pub secret: Secret,
    /// `scheme://host[:port]` it belongs to, when one was given.
    pub origin: Option<String>,
}

/// One secret as the file keeps it: a bare token, or a token and its origin.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Stored {
    Token(String),
    Bound { token: String, origin: String },
}

impl Stored {
    fn into_credential(self) -> Credential {
        match self {
            Stored::Token(token) => Credential {
                secret: Secret(token),
                origin: None,
            },
            Stored::Bound { token, origin } => Credential {
                secret: Secret(token),
                origin: Some(origin),
            },
        }
    }
}

fn env_prefix(name: &str) -> String {
    format!("B2B_{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// The environment variable a secret can be given in.
pub(crate) fn env_name(name: &str) -> String {
    format!("{}_TOKEN", env_prefix(name))
}

impl Secrets {
    /// The secrets of the database at `db`.
    pub fn for_db(db: &Path) -> Secrets {
        let mut file = db.as_os_str().to_owned();
        file.push(".secrets");
        Secrets { file: file.into() }
    }

    fn read_file(&self) -> Result<BTreeMap<String, Stored>> {
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
        Ok(self.credential(name)?.map(|c| c.secret))
    }

    /// The secret called `name` with the origin it is bound to: the
    /// environment first, then the file.
    pub fn credential(&self, name: &str) -> Result<Option<Credential>> {
        if let Ok(v) = std::env::var(env_name(name)) {
            if !v.trim().is_empty() {
                let origin = std::env::var(format!("{}_ORIGIN", env_prefix(name)))
                    .ok()
                    .filter(|o| !o.trim().is_empty());
                return Ok(Some(Credential {
                    secret: Secret(v.trim().to_string()),
                    origin,
                }));
            }
        }
        Ok(self.read_file()?.remove(name).map(Stored::into_credential))
    }

    /// Stores a secret in the file (created readable by its owner only),
    /// bound to `origin` when given.
    pub fn set(&self, name: &str, value: &str, origin: Option<&str>) -> Result<()> {
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
        let token = value.trim().to_string();
        let stored = match origin {
            Some(origin) => Stored::Bound {
                token,
                origin: origin_of(origin)?,
            },
            None => Stored::Token(token),
        };
        let mut all = self.read_file()?;
        all.insert(name.to_string(), stored);
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

/// `text` as an origin, `scheme://host[:port]`, or why it is not one.
fn origin_of(text: &str) -> Result<String> {
    let url = url::Url::parse(text.trim()).map_err(|e| {
        Error::invalid(format!(
            "`{text}` is not a URL ({e}); give the origin the secret belongs to, e.g. https://api.example.org"
        ))
    })?;
    let loopback = url.host_str().is_some_and(crate::net::is_loopback);
    let allowed = match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => loopback,
        _ => false,
    };
    if !allowed {
        return Err(Error::invalid(format!(
            "`{text}` must be an https:// URL with a host (http:// only for this machine): \
             a secret is never sent over plain http elsewhere"
        )));
    }
    Ok(url.origin().ascii_serialization())
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
        s.set("wonde-test", "tok-123", None).unwrap();
        s.set("other", "tok-456", Some("https://api.example.org"))
            .unwrap();
        let other = s.credential("other").unwrap().unwrap();
        assert_eq!(
            (other.secret.expose(), other.origin.as_deref()),
            ("tok-456", Some("https://api.example.org"))
        );
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
        assert!(s.set("Bad Name", "x", None).is_err());
        assert!(s.set("other", "x", Some("not a url")).is_err());
        s.set("other", "x", Some("HTTPS://API.example.org:443/some/path"))
            .unwrap();
        assert_eq!(
            s.credential("other").unwrap().unwrap().origin.as_deref(),
            Some("https://api.example.org")
        );
    }
}
