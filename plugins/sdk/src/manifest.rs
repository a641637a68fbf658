//! `describe()` answers from the plugin's own `plugin.toml`.
//!
//! The host refuses a plugin whose `describe()` disagrees with its manifest,
//! so the manifest is compiled in (`include_str!`) and read here rather than
//! its id, name, version and description being typed twice.

use crate::{Descriptor, ParamSpec};

/// Builds a plugin's [`Descriptor`] from the text of its `plugin.toml` and the
/// parameters it takes.
///
/// Only top-level `key = "basic string"` lines are read (single-line, with
/// `\"`, `\\`, `\n` and `\t` escapes), which is all a manifest uses.
///
/// # Panics
///
/// When `id`, `name`, `version` or `description` is missing or not such a
/// string: a build mistake that the first install or test of the plugin shows.
pub fn descriptor(manifest: &str, params: Vec<ParamSpec>) -> Descriptor {
    Descriptor {
        id: field(manifest, "id"),
        name: field(manifest, "name"),
        version: field(manifest, "version"),
        description: field(manifest, "description"),
        params,
    }
}

fn field(manifest: &str, key: &str) -> String {
    manifest
        .lines()
        .map(str::trim)
        // Keys after a `[table]` header are not top-level.
        .take_while(|line| !line.starts_with('['))
        .filter_map(|line| line.split_once('='))
        .find(|(name, _)| name.trim() == key)
        .and_then(|(_, value)| basic_string(value.trim()))
        .unwrap_or_else(|| panic!("plugin.toml has no top-level `{key} = \"...\"` line"))
}

/// The contents of a TOML basic string at the start of `value`.
fn basic_string(value: &str) -> Option<String> {
    let mut chars = value.strip_prefix('"')?.chars();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                't' => '\t',
                c @ ('"' | '\\') => c,
                _ => return None,
            }),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_top_level_strings_only() {
        let manifest = r#"
            # comment
            id = "clear-cache"
            name = "Clear \"Cache\""
            version = "0.1.0" # trailing comment
            description = "Deletes old entries."
            capabilities = [
                "cache:read",
            ]
            [extra]
            id = "not-this"
        "#;
        let d = descriptor(manifest, vec![]);
        assert_eq!(d.id, "clear-cache");
        assert_eq!(d.name, "Clear \"Cache\"");
        assert_eq!(d.version, "0.1.0");
        assert_eq!(d.description, "Deletes old entries.");
    }

    #[test]
    #[should_panic(expected = "no top-level `description")]
    fn missing_field_panics() {
        descriptor("id = \"x\"\nname = \"X\"\nversion = \"0.1.0\"", vec![]);
    }
}
