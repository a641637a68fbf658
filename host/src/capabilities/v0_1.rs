//! The host calls of the frozen `b2b:plugin@0.1.0`: each one is the current
//! version's call, its arguments and answer cast between the two versions'
//! types (identical in shape). Grants, limits and staging are the current
//! calls' own, so a 0.1.0 plugin is held to exactly the same rules.

use super::HostContext;
use crate::world::b2b::plugin as now;
use crate::world::v0_1::b2b::plugin::{
    cache, conflicts, files, http, incoming, log, settings, students, types,
};
use crate::world::v0_1::Cast;
use crate::world::CallError;

type Called<T> = Result<T, CallError>;

impl types::Host for HostContext {
    fn convert_error(&mut self, err: CallError) -> wasmtime::Result<types::Error> {
        now::types::Host::convert_error(self, err).map(Cast::cast)
    }
}

impl log::Host for HostContext {
    fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        now::log::Host::write(self, level.cast(), message)
    }
}

impl settings::Host for HostContext {
    fn get(&mut self, key: String) -> Called<types::Value> {
        now::settings::Host::get(self, key).map(Cast::cast)
    }

    fn run_started_at(&mut self) -> wasmtime::Result<types::Timestamp> {
        now::settings::Host::run_started_at(self)
    }
}

impl conflicts::Host for HostContext {
    fn list_open(&mut self, after: i64, limit: u32) -> Called<Vec<conflicts::Conflict>> {
        now::conflicts::Host::list_open(self, after, limit).map(Cast::cast)
    }

    fn clear(&mut self, ids: Vec<i64>) -> Called<u32> {
        now::conflicts::Host::clear(self, ids)
    }

    fn accept(&mut self, ids: Vec<i64>) -> Called<u32> {
        now::conflicts::Host::accept(self, ids)
    }
}

impl students::Host for HostContext {
    fn held_values(&mut self, refs: Vec<students::ItemRef>) -> Called<Vec<Option<String>>> {
        now::students::Host::held_values(self, refs.cast())
    }
}

impl files::Host for HostContext {
    fn list(&mut self, after: i64, limit: u32) -> Called<Vec<files::FileInfo>> {
        now::files::Host::list(self, after, limit).map(Cast::cast)
    }

    fn delete_payloads(&mut self, ids: Vec<i64>) -> Called<u32> {
        now::files::Host::delete_payloads(self, ids)
    }
}

impl cache::Host for HostContext {
    fn list(
        &mut self,
        after: i64,
        limit: u32,
        school: Option<String>,
    ) -> Called<Vec<cache::Entry>> {
        now::cache::Host::list(self, after, limit, school).map(Cast::cast)
    }

    fn delete(&mut self, ids: Vec<i64>) -> Called<u32> {
        now::cache::Host::delete(self, ids)
    }
}

impl http::Host for HostContext {
    async fn send(
        &mut self,
        requests: Vec<http::Request>,
    ) -> wasmtime::Result<Vec<Result<http::Response, types::Error>>> {
        now::http::Host::send(self, requests.cast())
            .await
            .map(Cast::cast)
    }
}

impl incoming::Host for HostContext {
    fn sync_schools(
        &mut self,
        schools: Vec<incoming::School>,
    ) -> Called<Vec<incoming::SchoolState>> {
        now::incoming::Host::sync_schools(self, schools.cast()).map(Cast::cast)
    }

    fn begin(&mut self, school: String, full: bool) -> Called<i64> {
        now::incoming::Host::begin(self, school, full)
    }

    fn store(&mut self, file: i64, chunk: Vec<u8>) -> Called<()> {
        now::incoming::Host::store(self, file, chunk)
    }

    fn submit(&mut self, file: i64, students: Vec<incoming::Student>) -> Called<()> {
        now::incoming::Host::submit(self, file, students.cast())
    }

    fn deleted(&mut self, file: i64, source_ids: Vec<String>) -> Called<()> {
        now::incoming::Host::deleted(self, file, source_ids)
    }

    fn finish(&mut self, file: i64) -> Called<incoming::Outcome> {
        now::incoming::Host::finish(self, file).map(Cast::cast)
    }

    fn fail(&mut self, file: i64, reason: String) -> Called<()> {
        now::incoming::Host::fail(self, file, reason)
    }
}
