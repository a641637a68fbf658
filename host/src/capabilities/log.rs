//! `b2b:plugin/log`: lines into the run log.

use super::HostContext;
use crate::world::b2b::plugin::log::{Host, Level};

impl Host for HostContext {
    fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let tag = match level {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        };
        self.log.line(tag, &message);
        Ok(())
    }
}
