//! The built-in actions, compiled from `plugins/` by the build script and
//! embedded in the binary, so an LA installs one file and has them all.

use crate::plugins::manifest::Manifest;

/// Each built-in's manifest text and component bytes.
const EMBEDDED: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// A built-in plugin.
#[derive(Debug, Clone)]
pub struct Builtin {
    /// Its manifest, as in `plugins/<id>/plugin.toml`.
    pub manifest: Manifest,
    /// Its component, compiled by the build script and embedded in `b2b`.
    pub wasm: &'static [u8],
}

/// Every built-in plugin, by id.
pub fn all() -> Vec<Builtin> {
    let mut all: Vec<Builtin> = EMBEDDED
        .iter()
        .map(|(text, wasm)| Builtin {
            manifest: Manifest::parse(text, "a built-in manifest")
                .expect("built-in manifests are checked by tests"),
            wasm,
        })
        .collect();
    all.sort_by(|a, b| a.manifest.id.cmp(&b.manifest.id));
    all
}

/// One built-in by id.
pub fn find(id: &str) -> Option<Builtin> {
    all().into_iter().find(|b| b.manifest.id == id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_three_maintenance_actions_are_embedded() {
        let ids: Vec<String> = super::all().into_iter().map(|b| b.manifest.id).collect();
        for id in ["clear-cache", "clear-conflicts", "delete-files"] {
            assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
        }
    }
}
