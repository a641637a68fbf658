//! Plugins as an admin manages them: capabilities, manifests and the
//! built-in actions embedded in the binary; and, for plugin authors, the
//! scaffold `b2b plugin new` writes.

pub mod builtin;
pub mod capability;
pub mod manifest;
pub mod scaffold;
