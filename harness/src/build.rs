//! Building a plugin crate before testing it, as its author would:
//! `cargo build --release --target wasm32-wasip2`, through the same code the
//! host's build script uses for the built-in actions.

use b2b_host::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Builds the plugin crate in `dir` into `target_dir` (its own `target/`
/// when `None`) and returns its component. Cargo's output goes to stderr,
/// where its author can read any compile error.
pub(super) fn build(dir: &Path, target_dir: Option<&Path>) -> Result<PathBuf> {
    b2b_build_support::check_target_installed(dir).map_err(Error::invalid)?;
    let target = target_dir.map_or_else(|| dir.join("target"), Path::to_path_buf);
    let status = b2b_build_support::build_command(&dir.join("Cargo.toml"), &target)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| {
            Error::Io(format!(
                "could not run cargo to build {}: {e}; is cargo on the PATH?",
                dir.display()
            ))
        })?;
    if !status.success() {
        return Err(Error::TestsFailed(format!(
            "the plugin in {} did not build; fix the errors cargo printed above",
            dir.display()
        )));
    }
    b2b_build_support::built(dir, &target)
        .map(|built| built.wasm)
        .map_err(Error::Io)
}
