//! Builds the built-in action plugins (the `plugins/` workspace) and embeds
//! them: `OUT_DIR/builtin.rs` lists each manifest and component.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("..");
    let root = root.canonicalize().expect("the repository root exists");
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
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin.rs");
    std::fs::write(out, format!("&[\n{entries}]\n")).expect("OUT_DIR is writable");
}
