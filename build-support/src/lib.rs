//! Builds plugin crates to WebAssembly components from another crate's
//! build script, so that a plain `cargo build` or `cargo test` produces every
//! plugin with no manual step, and from the plugin test harness, which builds
//! the crate it is pointed at.
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
/// [`TARGET`]) into `target_dir`, and returns the member crates that have a
/// `plugin.toml`. Panics with advice a person can follow when the build
/// cannot run: a build script has no better way to report.
pub fn build_workspace(workspace: &Path, target_dir: &Path) -> Vec<Built> {
    check_target_installed(workspace).unwrap_or_else(|advice| panic!("{advice}"));
    println!("cargo:rerun-if-changed={}", workspace.display());
    let status = build_command(&workspace.join("Cargo.toml"), target_dir)
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build the plugins: {e}"));
    assert!(
        status.success(),
        "building the plugins in {} failed (see the errors above)",
        workspace.display()
    );
    members(workspace)
        .into_iter()
        .map(|dir| built(&dir, target_dir).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// `cargo build --release --target wasm32-wasip2` of the crate or workspace
/// at `manifest` into `target_dir`, without the settings of any cargo that
/// runs this process. It runs in the manifest's directory, so that rustup
/// honours a `rust-toolchain.toml` there.
pub fn build_command(manifest: &Path, target_dir: &Path) -> Command {
    // Relative paths would be read from the new working directory.
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (manifest, target_dir) = (absolute(manifest), absolute(target_dir));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    if let Some(dir) = manifest.parent().filter(|d| d.is_dir()) {
        cmd.current_dir(dir);
    }
    cmd.args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir);
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
    cmd
}

fn members(workspace: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace)
        .expect("the plugin workspace is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("plugin.toml").is_file() && p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// The component [`build_command`] built for the plugin crate at `dir`
/// into `target_dir`. A cdylib is written with underscores, a binary with
/// its package name.
pub fn built(dir: &Path, target_dir: &Path) -> Result<Built, String> {
    let out = target_dir.join(TARGET).join("release");
    let path = dir.join("Cargo.toml");
    let cargo_toml = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let parsed: toml::Table = cargo_toml
        .parse()
        .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))?;
    let package = parsed
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| format!("{} has no [package] name", path.display()))?
        .to_string();
    let wasm = [package.replace('-', "_"), package.clone()]
        .iter()
        .map(|stem| out.join(format!("{stem}.wasm")))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no .wasm was built for {package} in {}", out.display()))?;
    Ok(Built {
        manifest: dir.join("plugin.toml"),
        wasm,
        package,
    })
}

/// The exact advice when the wasm target is missing for the toolchain used
/// in `dir`: rustup does not add targets on its own when
/// `RUSTUP_AUTO_INSTALL=0`.
pub fn check_target_installed(dir: &Path) -> Result<(), String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(rustc)
        .current_dir(dir)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if libdir.is_some_and(|d| d.is_dir()) {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} target is not installed; run `rustup target add {TARGET}` and build again"
        ))
    }
}
