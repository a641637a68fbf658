//! The B2B Student host: brings schools' student data into an English Local
//! Authority's database and runs every B2B action as a sandboxed WebAssembly
//! component.
//!
//! The layers, bottom up: [`storage`] (SQLite), [`engine`] and the private
//! `capabilities` (wasmtime and the WIT interfaces plugins call), [`plugins`]
//! (manifests, grants, the built-in actions), [`service`] (what a person can
//! do, with an [`actor::Actor`] on every call) and [`cli`] over it.
#![deny(missing_docs)]

pub mod actor;
mod capabilities;
pub mod cli;
pub mod demo;
pub mod engine;
pub mod error;
pub mod harness;
pub mod import;
pub mod items;
pub mod net;
pub mod plugins;
pub mod scheduler;
pub mod secrets;
pub mod service;
pub mod staged;
pub mod storage;
pub mod text;
pub mod time;
pub mod upn;
pub mod wonde_sandbox;
