//! Compiled components cached on disk, keyed by the wasm's sha256 and the
//! engine's compatibility hash, so the CLI and the tests compile each plugin
//! once per machine rather than once per process.
//!
//! Compiled code is machine code that wasmtime runs without checking it, so
//! a file in the cache directory is only used when its sha256 is one the
//! caller trusts: the hash recorded when this host compiled it, kept in the
//! database beside the plugin's grant (see `storage::compiled`). A file
//! swapped in by anyone else, or a cache shared with a database that never
//! compiled it, is compiled afresh instead. The cache is bounded: past
//! 64 files or 512 MiB (`MAX_ENTRIES`, `MAX_BYTES`) the least recently used go.

use super::sha256_hex;
use crate::error::{Error, Result};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use wasmtime::component::Component;

/// The most compiled components kept.
const MAX_ENTRIES: usize = 64;
/// The most bytes of compiled components kept.
const MAX_BYTES: u64 = 512 << 20;
/// What compiled files are called.
const EXTENSION: &str = "cwasm";

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

/// The engine's compatibility hash, which names the compiled code it can run.
pub(crate) fn engine_key(engine: &wasmtime::Engine) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// A compiled component and the sha256 of its compiled code.
pub(crate) struct Compiled {
    pub(crate) component: Component,
    pub(crate) code_sha256: String,
}

/// Loads `wasm` compiled from `dir` when the cached file's sha256 is
/// `trusted`, else compiles it (and caches the result). A cache that cannot
/// be read or written is skipped, never fatal: it only costs time.
pub(crate) fn load(
    engine: &wasmtime::Engine,
    wasm: &[u8],
    sha256: &str,
    dir: Option<&Path>,
    trusted: Option<&str>,
) -> Result<Compiled> {
    let path = dir.map(|d| d.join(format!("{sha256}-{}.{EXTENSION}", engine_key(engine))));
    if let (Some(path), Some(trusted)) = (&path, trusted) {
        if let Some(compiled) = cached(engine, path, trusted) {
            return Ok(compiled);
        }
    }
    let code = engine.precompile_component(wasm).map_err(refused)?;
    if let (Some(dir), Some(path)) = (dir, &path) {
        store(dir, path, &code);
    }
    deserialize(engine, code)
}

/// The cached file at `path`, if its bytes hash to `trusted`. The bytes
/// hashed are the bytes deserialised: no one can swap the file in between.
fn cached(engine: &wasmtime::Engine, path: &Path, trusted: &str) -> Option<Compiled> {
    let code = std::fs::read(path).ok()?;
    if sha256_hex(&code) != trusted {
        return None;
    }
    // Keeps the entry recent for eviction; failing to is harmless.
    let _ = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
    deserialize(engine, code).ok()
}

fn deserialize(engine: &wasmtime::Engine, code: Vec<u8>) -> Result<Compiled> {
    let code_sha256 = sha256_hex(&code);
    // SAFETY: `code` is either what this engine's `precompile_component`
    // produced just now, or bytes whose sha256 the host recorded when it
    // produced them; wasmtime also checks the header against the engine.
    let component = unsafe { Component::deserialize(engine, &code) }.map_err(refused)?;
    Ok(Compiled {
        component,
        code_sha256,
    })
}

fn refused(e: wasmtime::Error) -> Error {
    Error::Refused(format!(
        "the component could not be compiled: {}",
        crate::text::capped(&format!("{e:#}"), 4 << 10)
    ))
}

/// Writes atomically (temporary file, then rename) so a concurrent reader
/// never sees half a file, then evicts what is over the bounds.
fn store(dir: &Path, path: &Path, bytes: &[u8]) {
    // Unique per writer: two threads of one process may compile the same
    // wasm at once.
    let tmp = dir.join(format!(
        ".{}.{:016x}.{}",
        std::process::id(),
        fastrand::u64(..),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    let written = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&tmp, bytes))
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    evict(dir, MAX_ENTRIES, MAX_BYTES);
}

/// Removes the least recently used compiled files until at most `entries`
/// files and `bytes` bytes remain.
fn evict(dir: &Path, entries: usize, bytes: u64) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, u64, PathBuf)> = listing
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == EXTENSION))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut kept_bytes = 0;
    for (n, (_, len, path)) in files.into_iter().enumerate() {
        kept_bytes += len;
        if n >= entries || kept_bytes > bytes {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn eviction_keeps_the_most_recently_used_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        for (n, age) in [(0, 30), (1, 10), (2, 20), (3, 0)] {
            let path = dir.path().join(format!("{n}.{EXTENSION}"));
            std::fs::write(&path, vec![0u8; 100]).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(now - Duration::from_secs(age))
                .unwrap();
        }
        std::fs::write(dir.path().join("other.txt"), b"not a cache file").unwrap();
        evict(dir.path(), 3, 250);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["1.cwasm", "3.cwasm", "other.txt"]);
    }
}
