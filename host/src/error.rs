//! The one error type of the host library.
//!
//! Every variant carries a message written for the person at the keyboard:
//! what is wrong and, where there is one, what to do about it. The CLI maps
//! variants to stable exit codes so that scripts can rely on them.

use std::fmt;

/// A failure of a host service, with a message a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input was not acceptable (a bad value, an unknown name, a flag that
    /// contradicts another). Nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// A named thing (conflict, student, plugin, run...) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The action is not allowed (a capability outside a grant, a wasm file
    /// that changed since it was granted, a disabled plugin).
    #[error("{0}")]
    Refused(String),
    /// A plugin run failed (trap, limit, or an error it returned). Its changes
    /// were rolled back.
    #[error("{0}")]
    ActionFailed(String),
    /// The database could not be used as it is (newer than this binary,
    /// locked, corrupt, unreachable).
    #[error("{0}")]
    Database(String),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
    /// An action finished and kept its work, but part of it failed (an
    /// import where some schools failed while the others were applied).
    #[error("{0}")]
    Partial(String),
    /// A plugin's fixture tests did not all pass (`b2b plugin test`), or the
    /// plugin did not build for them.
    #[error("{0}")]
    TestsFailed(String),
}

/// Shorthand for results of host services.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an [`Error::Invalid`] from anything printable.
    pub fn invalid(msg: impl fmt::Display) -> Self {
        Error::Invalid(msg.to_string())
    }

    /// Builds an [`Error::NotFound`] from anything printable.
    pub fn not_found(msg: impl fmt::Display) -> Self {
        Error::NotFound(msg.to_string())
    }

    /// The process exit code for this error, stable for scripts: 1 plugin
    /// tests failed, 2 bad input, 3 not found, 4 refused, 5 action failed,
    /// 6 database, 7 I/O, 8 action partly failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::TestsFailed(_) => 1,
            Error::Invalid(_) => 2,
            Error::NotFound(_) => 3,
            Error::Refused(_) => 4,
            Error::ActionFailed(_) => 5,
            Error::Database(_) => 6,
            Error::Io(_) => 7,
            Error::Partial(_) => 8,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::DatabaseBusy
                    || f.code == rusqlite::ErrorCode::DatabaseLocked =>
            {
                Error::Database(format!(
                    "the database is busy ({e}); another b2b process is writing to it, try again when it has finished"
                ))
            }
            _ => Error::Database(format!("database error: {e}")),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}
