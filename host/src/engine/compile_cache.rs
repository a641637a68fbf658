//! Compiled components cached on disk, keyed by the wasm's sha256 and the
//! engine's compatibility hash, so the CLI and the tests compile each plugin
//! once per machine rather than once per process.

use crate::error::{Error, Result};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;

/// The cache directory: `$B2B_CACHE_DIR`, else `$XDG_CACHE_HOME/b2b`, else
/// `~/.cache/b2b`; `None` when none can be found (then nothing is cached).
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("B2B_CACHE_DIR") {
        return Some(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("b2b"))
}

fn engine_key(engine: &wasmtime::Engine) -> u64 {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

/// Compiles `wasm`, or loads it compiled from `dir` when it was compiled
/// before by a compatible engine. A cache that cannot be read or written is
/// skipped, never fatal: it only costs time.
pub(crate) fn load(
    engine: &wasmtime::Engine,
    wasm: &[u8],
    sha256: &str,
    dir: Option<&Path>,
) -> Result<Component> {
    let Some(dir) = dir else {
        return compile(engine, wasm);
    };
    let path = dir.join(format!("{sha256}-{:016x}.cwasm", engine_key(engine)));
    if path.exists() {
        // SAFETY: files in the cache directory are written only by `store`
        // below from this engine's own `precompile_component`, and wasmtime
        // checks their header against the engine; the directory is trusted as
        // the `b2b` binary itself is.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok(component);
        }
        let _ = std::fs::remove_file(&path);
    }
    let compiled = engine.precompile_component(wasm).map_err(refused)?;
    store(dir, &path, &compiled);
    // SAFETY: `compiled` was produced by this engine just above.
    unsafe { Component::deserialize(engine, &compiled) }.map_err(refused)
}

fn compile(engine: &wasmtime::Engine, wasm: &[u8]) -> Result<Component> {
    Component::new(engine, wasm).map_err(refused)
}

fn refused(e: wasmtime::Error) -> Error {
    Error::Refused(format!("the component could not be compiled: {e:#}"))
}

/// Writes atomically (temporary file, then rename) so a concurrent reader
/// never sees half a file.
fn store(dir: &Path, path: &Path, bytes: &[u8]) {
    let tmp = dir.join(format!(
        ".{}.{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    let written = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&tmp, bytes))
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
