//! Builds the built-in action plugins (the `plugins/` workspace) and embeds
//! them: `OUT_DIR/builtin.rs` lists each manifest and component. Also embeds
//! the plugin author kit, the WIT and the SDK that `b2b plugin new` writes
//! into a plugin made outside a checkout: `OUT_DIR/kit.rs` lists each file.

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("..");
    let root = root.canonicalize().expect("the repository root exists");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    // A target directory of its own: a nested cargo on the outer one would
    // wait for the outer cargo's lock forever.
    let built = b2b_build_support::build_workspace(
        &root.join("plugins"),
        &root.join("target").join("wasm"),
    );
    let entries: String = built
        .iter()
        .map(|b| {
            format!(
                "    (include_str!({:?}), include_bytes!({:?})),\n",
                b.manifest, b.wasm
            )
        })
        .collect();
    std::fs::write(out.join("builtin.rs"), format!("&[\n{entries}]\n"))
        .expect("OUT_DIR is writable");
    embed_kit(&root, &out);
}

/// Where the SDK goes in a new plugin: two levels below the plugin, as it is
/// below the repository, so its `path` to the WIT (`../../wit`) holds as it is.
const SDK_DIR: &str = "vendor/b2b-plugin-sdk";

/// Writes `OUT_DIR/kit.rs`: `(path in the new plugin, contents)` of every
/// WIT file and SDK file. The SDK's Cargo.toml inherits from the plugins
/// workspace, which a new plugin does not have, so a standalone copy with
/// the inherited values filled in is written to `OUT_DIR` and embedded.
fn embed_kit(root: &Path, out: &Path) {
    let sdk = root.join("plugins").join("sdk");
    let mut files = vec![(
        format!("{SDK_DIR}/Cargo.toml"),
        standalone_sdk_manifest(root, out),
    )];
    for (base, under) in [
        (root.join("wit"), "wit".to_string()),
        (sdk.join("src"), format!("{SDK_DIR}/src")),
    ] {
        for file in files_under(&base) {
            let relative = file.strip_prefix(&base).expect("listed under base");
            files.push((format!("{under}/{}", relative.display()), file));
        }
    }
    let entries: String = files
        .iter()
        .map(|(path, file)| format!("    ({path:?}, include_str!({file:?})),\n"))
        .collect();
    std::fs::write(out.join("kit.rs"), format!("&[\n{entries}]\n")).expect("OUT_DIR is writable");
}

/// Every file under `dir`, in name order.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// The SDK's Cargo.toml with each `x.workspace = true` replaced by the
/// plugins workspace's value; returns the file written.
fn standalone_sdk_manifest(root: &Path, out: &Path) -> PathBuf {
    let read = |path: PathBuf| -> toml::Table {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        text.parse()
            .unwrap_or_else(|e| panic!("{} is not valid TOML: {e}", path.display()))
    };
    let mut sdk = read(root.join("plugins/sdk/Cargo.toml"));
    let workspace = read(root.join("plugins/Cargo.toml"));
    for (section, from) in [("package", "package"), ("dependencies", "dependencies")] {
        let values = workspace["workspace"][from]
            .as_table()
            .expect("the plugins workspace has the table");
        if let Some(table) = sdk.get_mut(section).and_then(toml::Value::as_table_mut) {
            inherit(table, values);
        }
    }
    // `[package]` first, as people write it.
    let package = sdk.remove("package").expect("the SDK has a [package]");
    let text = format!(
        "# The B2B plugin SDK, as shipped with the `b2b` that created this plugin.\n\
         [package]\n{}\n{}",
        toml::to_string(&package).expect("a table serialises"),
        toml::to_string(&sdk).expect("a table serialises")
    );
    let path = out.join("b2b-plugin-sdk.Cargo.toml");
    std::fs::write(&path, text).expect("OUT_DIR is writable");
    path
}

/// Replaces each `key = { workspace = true }` in `table` by `values[key]`.
fn inherit(table: &mut toml::Table, values: &toml::Table) {
    for (key, value) in table.iter_mut() {
        let Some(inheriting) = value.as_table().filter(|t| t.contains_key("workspace")) else {
            continue;
        };
        // Keys beside `workspace` (e.g. extra features) would need merging.
        assert_eq!(
            inheriting.len(),
            1,
            "the SDK's `{key}` adds to what it inherits; embed_kit only copies inherited values"
        );
        *value = values
            .get(key)
            .unwrap_or_else(|| panic!("the plugins workspace does not define `{key}`"))
            .clone();
    }
}
