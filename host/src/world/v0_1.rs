//! The `bindgen!` of the frozen `b2b:plugin@0.1.0` (`wit/0.1.0/`), linked
//! beside the current version so that components built against it keep
//! running. Its host calls delegate to the current ones
//! (`capabilities/v0_1.rs`); the two versions' types have the same shapes,
//! and [`Cast`] carries a value from one to the other field by field.

wasmtime::component::bindgen!({
    path: "../wit/0.1.0",
    world: "action",
    imports: {
        "b2b:plugin/http.send": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    trappable_error_type: {
        "b2b:plugin/types.error" => crate::world::CallError,
    },
});

use crate::world::b2b::plugin as now;
use b2b::plugin as then;

/// A value of one WIT version as the same value of another.
pub(crate) trait Cast<T> {
    /// The same value, in the other version's type.
    fn cast(self) -> T;
}

macro_rules! cast_as_is {
    ($($t:ty),*) => {$(
        impl Cast<$t> for $t {
            fn cast(self) -> $t {
                self
            }
        }
    )*};
}
cast_as_is!(String, bool, u8, u16, u32, u64, i64);

impl<A: Cast<B>, B> Cast<Vec<B>> for Vec<A> {
    fn cast(self) -> Vec<B> {
        self.into_iter().map(Cast::cast).collect()
    }
}

impl<A: Cast<B>, B> Cast<Option<B>> for Option<A> {
    fn cast(self) -> Option<B> {
        self.map(Cast::cast)
    }
}

impl<A: Cast<C>, B: Cast<D>, C, D> Cast<(C, D)> for (A, B) {
    fn cast(self) -> (C, D) {
        (self.0.cast(), self.1.cast())
    }
}

impl<A: Cast<C>, B: Cast<D>, C, D> Cast<Result<C, D>> for Result<A, B> {
    fn cast(self) -> Result<C, D> {
        self.map(Cast::cast).map_err(Cast::cast)
    }
}

/// A record of the same fields in both versions, cast one way.
macro_rules! cast_record {
    ($from:ty => $to:ident { $($field:ident),* }) => {
        impl Cast<$to> for $from {
            fn cast(self) -> $to {
                $to { $($field: self.$field.cast()),* }
            }
        }
    };
}

/// A variant or enum of the same cases in both versions, cast one way.
macro_rules! cast_cases {
    ($from:ident => $to:ident { $($case:ident),* } { $($unit:ident),* }) => {
        impl Cast<$to> for $from {
            fn cast(self) -> $to {
                match self {
                    $($from::$case(value) => $to::$case(value.cast()),)*
                    $($from::$unit => $to::$unit,)*
                }
            }
        }
    };
}

use now::cache::Entry as NowEntry;
use now::conflicts::{Conflict as NowConflict, ItemKind as NowItemKind};
use now::files::{FileInfo as NowFileInfo, FileStatus as NowFileStatus};
use now::http::{Request as NowRequest, Response as NowResponse};
use now::incoming::{Contact as NowContact, Outcome as NowOutcome};
use now::incoming::{School as NowSchool, SchoolState as NowSchoolState, Student as NowStudent};
use now::log::Level as NowLevel;
use now::students::ItemRef as NowItemRef;
use now::types::{Error as NowError, Value as NowValue};
use then::cache::Entry;
use then::conflicts::{Conflict, ItemKind};
use then::files::{FileInfo, FileStatus};
use then::http::{Request, Response};
use then::incoming::{Contact, Outcome, School, SchoolState, Student};
use then::log::Level;
use then::students::ItemRef;
use then::types::Value;

// What a 0.1.0 plugin hands the host.
cast_cases!(Level => NowLevel {} { Debug, Info, Warn, Error });
cast_record!(ItemRef => NowItemRef { student_id, item });
cast_record!(Request => NowRequest { method, url, headers, credential, body });
cast_record!(School => NowSchool { source_id, name, urn, la_code, establishment_number, region_domain });
cast_record!(Contact => NowContact { name, relationship, phone, email, parental_responsibility });
cast_record!(Student => NowStudent { source_id, upi, items, contacts });
cast_cases!(Error => NowError { Denied, Invalid, Failed } {});
cast_record!(Descriptor => NowDescriptor { id, name, version, description, params });
cast_record!(ParamSpec => NowParamSpec { name, description, default, required });
cast_record!(Report => NowReport { examined, changed, skipped, summary });

// What the host answers it.
cast_cases!(NowError => Error { Denied, Invalid, Failed } {});
cast_cases!(NowValue => Value { Boolean, Integer, Text } {});
cast_cases!(NowItemKind => ItemKind {} { Name, Text, Code, Postcode, Date, Flag });
cast_record!(NowConflict => Conflict { id, student_id, school_id, item, kind, held_at_detection, incoming, raised_at });
cast_cases!(NowFileStatus => FileStatus {} { Queued, Processing, Completed, Failed });
cast_record!(NowFileInfo => FileInfo { id, school_id, received_at, status, payload_bytes, deleted });
cast_record!(NowEntry => Entry { id, school_id, external_id, data_group, imported_at });
cast_record!(NowResponse => Response { status, headers, body });
cast_record!(NowSchoolState => SchoolState { source_id, last_success, active });
cast_record!(NowOutcome => Outcome { received, matched, added, unmatched, too_old, conflicts, updated, unchanged, deleted });

use crate::world::{Descriptor as NowDescriptor, ParamSpec as NowParamSpec, Report as NowReport};
