//! `b2b:plugin/settings`: System Defaults and the run's start time.

use super::HostContext;
use crate::storage::defaults;
use crate::world::b2b::plugin::settings::Host;
use crate::world::b2b::plugin::types::{Timestamp, Value};
use crate::world::CallError;

impl Host for HostContext {
    fn get(&mut self, key: String) -> Result<Value, CallError> {
        Ok(match defaults::get(self.connection()?, &key)? {
            defaults::Value::Boolean(b) => Value::Boolean(b),
            defaults::Value::Integer(i) => Value::Integer(i),
            defaults::Value::Text(t) => Value::Text(t),
        })
    }

    fn run_started_at(&mut self) -> wasmtime::Result<Timestamp> {
        Ok(self.started_at)
    }
}
