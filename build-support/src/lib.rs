//! Builds a cargo workspace of plugin crates to WebAssembly components from
//! another crate's build script, so that a plain `cargo build` or
//! `cargo test` produces every plugin with no manual step.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target plugins are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// A plugin crate that was built: its manifest and its component.
#[derive(Debug)]
pub struct Built {
    /// The crate's `plugin.toml`.
    pub manifest: PathBuf,
    /// The `.wasm` component.
    pub wasm: PathBuf,
    /// The crate's package name.
    pub package: String,
}

/// Builds every member of the workspace at `workspace` (release, for
/// [`TARGET`]) into `target_dir`, and returns the members that have a
/// `plugin.toml`. Panics with advice a person can follow when the build
/// cannot run: a build script has no better way to report.
pub fn build_workspace(workspace: &Path, target_dir: &Path) -> Vec<Built> {
    ensure_target_installed();
    println!("cargo:rerun-if-changed={}", workspace.display());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    // The outer cargo's settings describe the host build, not this one; a
    // wrapper such as clippy-driver or host RUSTFLAGS would break it.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_NET_OFFLINE")
            || key.contains("RUSTFLAGS")
            || key.starts_with("RUSTC")
            || key == "RUSTDOC"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build the plugins: {e}"));
    assert!(
        status.success(),
        "building the plugins in {} failed (see the errors above)",
        workspace.display()
    );
    members(workspace)
        .into_iter()
        .map(|dir| locate(&dir, &target_dir.join(TARGET).join("release")))
        .collect()
}

fn members(workspace: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace)
        .expect("the plugin workspace is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// A cdylib is written with underscores, a binary with its package name.
fn locate(dir: &Path, out: &Path) -> Built {
    let cargo_toml =
        std::fs::read_to_string(dir.join("Cargo.toml")).expect("a member has a Cargo.toml");
    let parsed: toml::Table = cargo_toml.parse().expect("a member's Cargo.toml parses");
    let package = parsed["package"]["name"]
        .as_str()
        .expect("a member has a package name")
        .to_string();
    let wasm = [package.replace('-', "_"), package.clone()]
        .iter()
        .map(|stem| out.join(format!("{stem}.wasm")))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no .wasm was built for {package} in {}", out.display()));
    Built {
        manifest: dir.join("plugin.toml"),
        wasm,
        package,
    }
}

/// Stops the build with the exact advice when the wasm target is missing:
/// rustup does not add targets on its own when `RUSTUP_AUTO_INSTALL=0`.
fn ensure_target_installed() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if !libdir.is_some_and(|d| d.is_dir()) {
        panic!("the {TARGET} target is not installed; run `rustup target add {TARGET}` and build again");
    }
}
