//! The B2B Student host: brings schools' student data into an English Local
//! Authority's database and runs every B2B action as a sandboxed WebAssembly
//! component. docs/architecture.md describes the layers and the path of one
//! run through them.
//!
//! The layers, bottom up (a module uses only those below it):
//! - the vocabulary: [`error`], [`actor`], [`time`], [`text`], [`digest`],
//!   [`net`], [`items`] (the data items of a held record), [`triggers`]
//!   (when a scheduled task fires), [`secrets`], [`plugins`] (manifests and
//!   capabilities);
//! - [`storage`]: SQLite, the only place SQL is written;
//! - [`import`] (matching, rules, cache and conflicts), [`staged`] (a run's
//!   writes, held until it succeeds), [`lease`] (this process's claim on the
//!   database), [`run_log`] and [`stop`];
//! - the WIT world (bindings of every version), the `capabilities` the host
//!   gives plugins, and the [`engine`] (wasmtime) that runs them;
//! - [`service`]: what a person can do, with an [`actor::Actor`] on every call;
//! - [`scheduler`]: tasks on their triggers, and `b2b serve`.
//!
//! The `b2b` command (crate `b2b-cli`), the plugin test harness
//! (`b2b-harness`) and the Wonde sandbox (`b2b-wonde-sandbox`) sit outside.
#![deny(missing_docs)]

pub mod actor;
mod capabilities;
pub mod digest;
pub mod engine;
pub mod error;
pub mod import;
pub mod items;
pub mod lease;
pub mod net;
pub mod plugins;
pub mod run_log;
pub mod scheduler;
pub mod secrets;
pub mod service;
pub mod staged;
pub mod stop;
pub mod storage;
pub mod text;
pub mod time;
pub mod triggers;
pub(crate) mod world;
