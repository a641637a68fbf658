//! The `bindgen!` of the current WIT, `b2b:plugin@0.2.0`: the Rust types and
//! traits the capabilities implement, and the error type their host calls
//! return.
//!
//! Everything generated lives here and nothing here depends on the
//! capabilities that implement it, so the import graph runs one way:
//! capabilities -> world. Each earlier, frozen version has a sibling module
//! ([`v0_1`]) whose host calls delegate to these, and every
//! version is linked, so a component built against any of them runs.
//!
//! The HTTP calls that wait on the network (`send`, `start`, `next`) are
//! async imports. The other host calls are short reads and writes of the
//! run's own connection, so they stay synchronous and cost no future per
//! call. The exports are async, so that a run can be raced against its
//! deadline and its stop signal.

pub mod v0_1;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "action",
    imports: {
        "b2b:plugin/http.send": async | trappable,
        "b2b:plugin/http.start": async | trappable,
        "b2b:plugin/http.next": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    trappable_error_type: {
        "b2b:plugin/types.error" => CallError,
    },
});

pub(crate) use b2b::plugin::types::Error as WitError;

/// A failed host call: a typed error the plugin sees. Every host call that
/// can fail returns it, so a refusal is never a trap.
pub(crate) enum CallError {
    /// Returned to the plugin as `b2b:plugin/types.error`.
    Wit(WitError),
}

impl CallError {
    /// `invalid`: the plugin's arguments were not acceptable.
    pub(crate) fn invalid(message: impl Into<String>) -> CallError {
        CallError::Wit(WitError::Invalid(message.into()))
    }

    /// `failed`: the host could not complete the call.
    pub(crate) fn failed(message: impl Into<String>) -> CallError {
        CallError::Wit(WitError::Failed(message.into()))
    }
}

impl From<crate::error::Error> for CallError {
    fn from(e: crate::error::Error) -> Self {
        use crate::error::Error;
        CallError::Wit(match e {
            Error::Invalid(m) | Error::NotFound(m) => WitError::Invalid(m),
            Error::Refused(m) => WitError::Denied(m),
            other => WitError::Failed(other.to_string()),
        })
    }
}

impl From<WitError> for CallError {
    fn from(e: WitError) -> Self {
        CallError::Wit(e)
    }
}

/// The WIT error as a sentence, for run records.
pub(crate) fn describe_error(e: &WitError) -> String {
    match e {
        WitError::Denied(cap) => {
            format!("denied: it needs the `{cap}` capability, which it was not granted")
        }
        WitError::Invalid(m) => format!("invalid: {m}"),
        WitError::Failed(m) => format!("failed: {m}"),
    }
}
