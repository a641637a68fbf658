//! Builds the misbehaving fixture plugins (`fixture-plugins/`) and tells the
//! tests where each one's manifest and component are.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("..");
    let root = root.canonicalize().expect("the repository root exists");
    // What map-bench builds in from outside its workspace: without these, a
    // changed mapping or page would leave the wasm side of the mapping
    // benchmark timing stale code.
    for input in [
        "plugins/wonde-map",
        "tests/fixtures/wonde-students-page.json",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    let built = b2b_build_support::build_workspace(
        &root.join("tests").join("fixture-plugins"),
        &root.join("target").join("wasm"),
    );
    let entries: String = built
        .iter()
        .map(|b| format!("    ({:?}, {:?}, {:?}),\n", b.package, b.manifest, b.wasm))
        .collect();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("fixtures.rs");
    std::fs::write(out, format!("&[\n{entries}]\n")).expect("OUT_DIR is writable");
}
