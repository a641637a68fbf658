//! How a new run enters under its task's overlap policy, given the runs
//! of the task still going in any process. It is decided in the transaction
//! that records the run, so no other process admits one meanwhile.

use crate::error::Result;
use crate::storage::task_runs;
use crate::storage::tasks::{Overlap, RunStatus, Task};
use rusqlite::Connection;

/// How a new run enters, under its task's overlap policy.
pub(super) struct Admission {
    /// Running, queued or skipped (or missed, for a slot no host saw).
    pub(super) status: RunStatus,
    /// Why it does not run now, when it does not.
    pub(super) detail: Option<String>,
    /// Whether runs of the task were asked to stop for it.
    pub(super) stops_others: bool,
}

/// How a new run of `task` enters, given its overlap policy and the runs
/// still going (in this process or another); stop_existing asks their
/// owners, through the database, to stop them.
pub(super) fn admit(tx: &Connection, task: &Task) -> Result<Admission> {
    let going = task_runs::going(tx, task.id)?;
    let Some(first) = going.first() else {
        return Ok(Admission::runs(false));
    };
    Ok(match task.definition.overlap {
        Overlap::IgnoreNew => Admission::refused(
            RunStatus::Skipped,
            format!("{first} was still going (overlap: ignore new)"),
        ),
        Overlap::QueueOne if task_runs::count(tx, task.id, RunStatus::Queued)? == 0 => Admission {
            status: RunStatus::Queued,
            detail: None,
            stops_others: false,
        },
        Overlap::QueueOne => Admission::refused(
            RunStatus::Skipped,
            format!(
                "{first} was still going and another run already waits to follow it \
                 (overlap: queue one)"
            ),
        ),
        Overlap::Parallel => Admission::runs(false),
        Overlap::StopExisting => {
            task_runs::request_stop(tx, task.id)?;
            Admission::runs(true)
        }
    })
}

impl Admission {
    /// It runs now.
    pub(super) fn runs(stops_others: bool) -> Admission {
        Admission {
            status: RunStatus::Running,
            detail: None,
            stops_others,
        }
    }

    /// It does not run now, and why.
    pub(super) fn refused(status: RunStatus, detail: String) -> Admission {
        Admission {
            status,
            detail: Some(detail),
            stops_others: false,
        }
    }

    /// The admission of a run a person asked for, which `--force` overrides.
    pub(super) fn forcible(mut self) -> Admission {
        if self.status == RunStatus::Skipped {
            if let Some(detail) = &mut self.detail {
                detail.push_str("; --force runs anyway");
            }
        }
        self
    }
}
