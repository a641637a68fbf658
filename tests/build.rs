//! Builds the misbehaving fixture plugins (`fixture-plugins/`) and tells the
//! tests where each one's manifest and component are. Most are Rust crates
//! of the fixture workspace; a few are hand-written WAT (`component.wat`
//! beside their `plugin.toml`), for what no Rust plugin can be.

use std::path::{Path, PathBuf};

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
    let mut entries: Vec<(String, PathBuf, PathBuf)> = built
        .iter()
        .map(|b| (b.package.clone(), b.manifest.clone(), b.wasm.clone()))
        .collect();
    entries.extend(assemble_wat_fixtures(&root));
    let entries: String = entries
        .iter()
        .map(|(package, manifest, wasm)| format!("    ({package:?}, {manifest:?}, {wasm:?}),\n"))
        .collect();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("fixtures.rs");
    std::fs::write(out, format!("&[\n{entries}]\n")).expect("OUT_DIR is writable");
}

/// Assembles each `fixture-plugins/*/component.wat` into a component of the
/// `action` world, under `OUT_DIR`.
fn assemble_wat_fixtures(root: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let wit = root.join("wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(&wit).expect("wit/ parses");
    let world = resolve
        .select_world(&[package], Some("action"))
        .expect("wit/ has the action world");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut assembled = Vec::new();
    let dirs =
        std::fs::read_dir(root.join("tests").join("fixture-plugins")).expect("fixture-plugins/");
    for dir in dirs.flatten().map(|e| e.path()) {
        let source = dir.join("component.wat");
        if !source.is_file() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", source.display());
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut module = wat::parse_file(&source)
            .unwrap_or_else(|e| panic!("{} does not assemble: {e}", source.display()));
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
        )
        .expect("the world's metadata embeds");
        let component = wit_component::ComponentEncoder::default()
            .module(&module)
            .and_then(|e| e.validate(true).encode())
            .unwrap_or_else(|e| panic!("{} is not an action component: {e:#}", source.display()));
        let wasm = out.join(format!("{name}.wasm"));
        std::fs::write(&wasm, component).expect("OUT_DIR is writable");
        assembled.push((name, dir.join("plugin.toml"), wasm));
    }
    assembled
}
