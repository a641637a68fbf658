//! Content hashes, as the host records them: of plugins (a grant is for
//! one exact wasm), of compiled code and of stored payloads.

use sha2::{Digest, Sha256};

/// The sha256 of some bytes, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
