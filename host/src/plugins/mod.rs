//! Plugins as an admin manages them: capabilities, manifests and the
//! built-in actions embedded in the binary.

pub mod builtin;
pub mod capability;
pub mod manifest;
