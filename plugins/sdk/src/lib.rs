//! The SDK for B2B Student action plugins.
//!
//! It owns the one set of bindings for the `action` world of
//! `wit/b2b.wit`, so every plugin shares the same types and a plugin crate
//! needs no `wit-bindgen` of its own, plus the few helpers that more than one
//! built-in action needs. A plugin looks like this:
//!
//! ```ignore
//! use b2b_plugin_sdk::{descriptor, Descriptor, Error, Guest, Report};
//!
//! struct MyAction;
//!
//! impl Guest for MyAction {
//!     fn describe() -> Descriptor {
//!         descriptor(include_str!("../plugin.toml"), vec![])
//!     }
//!     fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
//!         todo!()
//!     }
//! }
//!
//! b2b_plugin_sdk::export!(MyAction);
//! ```
#![deny(missing_docs)]

/// Bindings generated from `wit/b2b.wit` (world `action`).
///
/// Generated here once, not in each plugin, so that the export macro, the
/// types and the component-type section all come from one place.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "action",
        path: "../../wit",
        // Plugins call `b2b_plugin_sdk::export!(MyAction)`; the macro then
        // finds the generated types here rather than in the plugin crate.
        pub_export_macro: true,
        default_bindings_module: "b2b_plugin_sdk::bindings",
        // Lets the SDK's tests compare errors and values with `assert_eq!`.
        additional_derives: [PartialEq],
    });
}

mod batch;
mod held;
mod manifest;
mod paging;
mod retention;

pub mod log;
pub mod params;

pub use batch::{apply_batch, sweep, Swept};
pub use bindings::b2b::plugin::types::{Error, Timestamp, Value};
pub use bindings::b2b::plugin::{cache, conflicts, files, http, incoming, settings, students};
pub use bindings::{export, Descriptor, Guest, ParamSpec, Report};
pub use held::held_values;
pub use manifest::descriptor;
pub use paging::{pages, Keyed, Pages, PAGE_SIZE};
pub use retention::{int_setting, Cutoff};
