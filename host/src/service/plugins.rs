//! Installing, granting and removing plugins; keeping the built-ins current.

use super::Service;
use crate::actor::Actor;
use crate::engine::{sha256_hex, Descriptor, Plugin};
use crate::error::{Error, Result};
use crate::plugins::builtin;
use crate::plugins::capability::Capability;
use crate::plugins::manifest::Manifest;
use crate::storage::plugins::{self as store, PluginRecord, Source};
use crate::storage::{audit, compiled, in_transaction};
use crate::time;
use serde_json::json;
use std::path::{Path, PathBuf};

/// What an admin grants at install.
#[derive(Debug, Clone)]
pub enum GrantChoice {
    /// Everything the manifest asks for.
    AllRequested,
    /// Only these (each must be asked for).
    Only(Vec<Capability>),
}

/// What a plugin file is and asks for, before (or after) it is installed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    /// Its manifest's id.
    pub id: String,
    /// The component's own description of itself.
    pub descriptor: Descriptor,
    /// Capabilities the manifest asks for, with what each allows.
    pub requested: Vec<(String, String)>,
    /// The component file.
    pub wasm: PathBuf,
    /// Its sha256.
    pub sha256: String,
}

impl Service {
    /// Records each built-in plugin, granted what its manifest asks for, and
    /// refreshes it when the binary carries a different build.
    pub(super) fn sync_builtins(&self) -> Result<()> {
        for b in builtin::all() {
            let sha256 = sha256_hex(b.wasm);
            let current = store::find(&self.conn, &b.manifest.id)?;
            if current
                .as_ref()
                .is_some_and(|r| r.sha256 == sha256 && r.source == Source::Builtin)
            {
                continue;
            }
            let enabled = current.as_ref().map(|r| r.enabled).unwrap_or(true);
            // An admin's grants survive an upgrade as long as the new
            // manifest still asks for them (e.g. a host granted under `http:*`).
            let kept = current
                .map(|r| Capability::parse_all(&r.granted))
                .transpose()?
                .unwrap_or_default();
            let mut granted = default_grant(&b.manifest.capabilities);
            granted.extend(
                kept.into_iter()
                    .filter(|c| b.manifest.capabilities.iter().any(|m| m.covers(c))),
            );
            granted.sort();
            granted.dedup();
            let record = PluginRecord {
                id: b.manifest.id.clone(),
                name: b.manifest.name.clone(),
                version: b.manifest.version.clone(),
                description: b.manifest.description.clone(),
                source: Source::Builtin,
                path: None,
                sha256,
                requested: names(&b.manifest.capabilities),
                granted: names(&granted),
                enabled,
                installed_by: Actor::system().to_string(),
                installed_at: time::now(),
            };
            in_transaction(&self.conn, |conn| {
                store::upsert(conn, &record)?;
                audit::record(
                    conn,
                    &Actor::system(),
                    "plugin.builtin",
                    "plugin",
                    &record.id,
                    json!({"version": record.version, "sha256": record.sha256}),
                )
            })?;
        }
        Ok(())
    }

    /// Reads a plugin file (a directory with `plugin.toml`, or the `.wasm`
    /// beside one), compiles it, checks it is an action for this host and
    /// that it describes itself as its manifest says.
    pub fn inspect(&self, path: &Path) -> Result<Inspection> {
        let (manifest, wasm_path) = Manifest::locate(path)?;
        let wasm = read_wasm(&wasm_path)?;
        let (_, descriptor) = self.load_checked(&manifest, &wasm, &wasm_path)?;
        Ok(Inspection {
            id: manifest.id.clone(),
            descriptor,
            requested: manifest
                .capabilities
                .iter()
                .map(|c| (c.name().to_string(), c.description().to_string()))
                .collect(),
            wasm: wasm_path,
            sha256: sha256_hex(&wasm),
        })
    }

    fn load_checked(
        &self,
        manifest: &Manifest,
        wasm: &[u8],
        path: &Path,
    ) -> Result<(Plugin, Descriptor)> {
        let engine = self.engine()?;
        let in_file = |e: Error| match e {
            Error::Refused(m) => Error::Refused(format!("{} was refused: {m}", path.display())),
            other => other,
        };
        let plugin = self.load_component(wasm).map_err(in_file)?;
        let d = engine.describe(&plugin).map_err(in_file)?;
        if (d.id.as_str(), d.version.as_str()) != (manifest.id.as_str(), manifest.version.as_str())
        {
            return Err(Error::Refused(format!(
                "the manifest says `{}` version {} but the component describes itself as `{}` version {}; \
                 rebuild the plugin or correct its plugin.toml",
                manifest.id, manifest.version, d.id, d.version
            )));
        }
        Ok((plugin, d))
    }

    /// Installs (or re-installs) a plugin, recording the grant and the
    /// wasm's sha256. Built-in ids cannot be replaced.
    pub fn install(&self, path: &Path, choice: GrantChoice) -> Result<PluginRecord> {
        let (manifest, wasm_path) = Manifest::locate(path)?;
        self.install_component(&manifest, &wasm_path, choice)
    }

    /// [`Service::install`] of a manifest already read and its component,
    /// wherever that was built (the test harness builds it under `target/`).
    pub fn install_component(
        &self,
        manifest: &Manifest,
        wasm_path: &Path,
        choice: GrantChoice,
    ) -> Result<PluginRecord> {
        if builtin::find(&manifest.id).is_some() {
            return Err(Error::Refused(format!(
                "`{}` is a built-in plugin and cannot be replaced; give your plugin another id",
                manifest.id
            )));
        }
        let wasm = read_wasm(wasm_path)?;
        self.load_checked(manifest, &wasm, wasm_path)?;
        let granted = match choice {
            GrantChoice::AllRequested => default_grant(&manifest.capabilities),
            GrantChoice::Only(caps) => only_requested(&manifest.id, &manifest.capabilities, caps)?,
        };
        let wasm_path = wasm_path.canonicalize()?;
        let record = PluginRecord {
            id: manifest.id.clone(),
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            description: manifest.description.clone(),
            source: Source::Installed,
            path: Some(wasm_path.display().to_string()),
            sha256: sha256_hex(&wasm),
            requested: names(&manifest.capabilities),
            granted: names(&granted),
            enabled: true,
            installed_by: self.actor.to_string(),
            installed_at: time::now(),
        };
        in_transaction(&self.conn, |conn| {
            store::upsert(conn, &record)?;
            audit::record(
                conn,
                &self.actor,
                "plugin.install",
                "plugin",
                &record.id,
                json!({"version": record.version, "sha256": record.sha256, "path": record.path, "granted": record.granted}),
            )
        })?;
        Ok(record)
    }

    /// Grants or revokes capabilities of an installed plugin (only ones its
    /// manifest asks for can be granted).
    pub fn grant(&self, id: &str, caps: &[Capability], revoke: bool) -> Result<PluginRecord> {
        let mut record = store::get(&self.conn, id)?;
        let requested = Capability::parse_all(&record.requested)?;
        let mut granted = Capability::parse_all(&record.granted)?;
        if revoke {
            granted.retain(|c| !caps.contains(c));
        } else {
            granted.extend(only_requested(id, &requested, caps.to_vec())?);
            granted.sort();
            granted.dedup();
        }
        record.granted = names(&granted);
        in_transaction(&self.conn, |conn| {
            store::upsert(conn, &record)?;
            audit::record(
                conn,
                &self.actor,
                if revoke {
                    "plugin.revoke"
                } else {
                    "plugin.grant"
                },
                "plugin",
                id,
                json!({"capabilities": names(caps), "granted": record.granted}),
            )
        })?;
        Ok(record)
    }

    /// Enables or disables a plugin.
    pub fn set_plugin_enabled(&self, id: &str, enabled: bool) -> Result<PluginRecord> {
        let mut record = store::get(&self.conn, id)?;
        record.enabled = enabled;
        in_transaction(&self.conn, |conn| {
            store::upsert(conn, &record)?;
            audit::record(
                conn,
                &self.actor,
                if enabled {
                    "plugin.enable"
                } else {
                    "plugin.disable"
                },
                "plugin",
                id,
                json!({}),
            )
        })?;
        Ok(record)
    }

    /// Removes an installed plugin (its run history stays).
    pub fn remove_plugin(&self, id: &str) -> Result<()> {
        let record = store::get(&self.conn, id)?;
        if record.source == Source::Builtin {
            return Err(Error::Refused(format!(
                "`{id}` is built in and cannot be removed; `b2b plugin disable {id}` stops it running"
            )));
        }
        in_transaction(&self.conn, |conn| {
            store::delete(conn, id)?;
            audit::record(
                conn,
                &self.actor,
                "plugin.remove",
                "plugin",
                id,
                json!({"version": record.version}),
            )
        })
    }

    /// Every plugin, built-in and installed, with its grant.
    pub fn plugins(&self) -> Result<Vec<PluginRecord>> {
        store::list(&self.conn)
    }

    /// One installed plugin's record: what it asked for and was granted.
    pub fn plugin(&self, id: &str) -> Result<PluginRecord> {
        store::get(&self.conn, id)
    }

    /// The plugin's record and its loaded component, refusing a disabled
    /// plugin or one whose wasm changed since it was granted.
    pub(super) fn load_granted(&self, id: &str) -> Result<(PluginRecord, Plugin)> {
        let record = store::get(&self.conn, id)?;
        if !record.enabled {
            return Err(Error::Refused(format!(
                "plugin `{id}` is disabled; `b2b plugin enable {id}` lets it run"
            )));
        }
        let wasm: Vec<u8> = match (&record.source, &record.path) {
            (Source::Builtin, _) => {
                builtin::find(id).map(|b| b.wasm.to_vec()).ok_or_else(|| {
                    Error::NotFound(format!("built-in plugin `{id}` is not in this b2b binary"))
                })?
            }
            (Source::Installed, Some(path)) => read_wasm(Path::new(path))?,
            (Source::Installed, None) => {
                return Err(Error::Database(format!(
                    "plugin `{id}` has no file recorded"
                )))
            }
        };
        let sha = sha256_hex(&wasm);
        if sha != record.sha256 {
            return Err(Error::Refused(format!(
                "the wasm of plugin `{id}` at {} changed since it was granted (granted sha256 {}, now {}); \
                 review it and run `b2b plugin install` on it again to grant it",
                record.path.as_deref().unwrap_or("?"),
                &record.sha256[..12],
                &sha[..12]
            )));
        }
        let plugin = self.load_component(&wasm)?;
        Ok((record, plugin))
    }

    /// Loads a component, trusting compiled code from the disk cache only
    /// when its sha256 is the one recorded here when this host compiled it,
    /// and recording the hash of what it compiled.
    fn load_component(&self, wasm: &[u8]) -> Result<Plugin> {
        let engine = self.engine()?;
        let (wasm_sha, key) = (sha256_hex(wasm), engine.code_key());
        let trusted = compiled::get(&self.conn, &wasm_sha, &key)?;
        let plugin = engine.load(wasm, trusted.as_deref())?;
        if trusted.as_deref() != Some(plugin.code_sha256()) {
            compiled::record(&self.conn, &wasm_sha, &key, plugin.code_sha256())?;
        }
        Ok(plugin)
    }
}

fn read_wasm(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::NotFound(format!(
            "cannot read the plugin file {}: {e}; reinstall the plugin from its files",
            path.display()
        ))
    })
}

fn names(caps: &[Capability]) -> Vec<String> {
    caps.iter().map(Capability::name).collect()
}

/// What "grant everything it asks for" grants: every named capability; a
/// wildcard (`http:*`) only asks the admin to name hosts later.
fn default_grant(requested: &[Capability]) -> Vec<Capability> {
    requested
        .iter()
        .filter(|c| !matches!(c, Capability::Http(h) if h == "*"))
        .cloned()
        .collect()
}

fn only_requested(
    id: &str,
    requested: &[Capability],
    chosen: Vec<Capability>,
) -> Result<Vec<Capability>> {
    if let Some(extra) = chosen
        .iter()
        .find(|c| !requested.iter().any(|r| r.covers(c)))
    {
        return Err(Error::invalid(format!(
            "`{id}` does not ask for `{extra}`; it asks for: {}",
            if requested.is_empty() {
                "nothing".to_string()
            } else {
                names(requested).join(", ")
            }
        )));
    }
    Ok(chosen)
}
