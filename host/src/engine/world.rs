//! The one `bindgen!` of the host: Rust types and traits for the
//! `b2b:plugin@0.1.0` package. When a later WIT version is published it gets
//! a sibling module here, and both are linked.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "action",
    imports: { default: trappable },
    trappable_error_type: {
        "b2b:plugin/types.error" => crate::capabilities::CallError,
    },
});
