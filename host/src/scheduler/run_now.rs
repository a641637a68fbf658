//! `b2b task run`: a task run now in this process, outside its triggers,
//! waited for, under the same overlap policy and lease as the daemon's runs.

use super::{Scheduler, Shutdown, SystemClock};
use crate::error::Result;
use crate::service::{RunRecord, Service};
use crate::storage::runs;
use crate::storage::task_runs;
use crate::storage::tasks::{self, RunStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a `task run` stopped by a signal gives its run to end.
const STOP_ON_SIGNAL: Duration = Duration::from_secs(1);

/// Runs the task `reference` names now in this process and waits for it (a
/// queued run waits its turn first). The overlap policy applies (a run
/// going elsewhere, e.g. in `b2b serve`, counts) unless `force`. When
/// `shutdown` is requested meanwhile, the run is stopped and recorded as
/// interrupted.
pub fn run_task_now(
    svc: &Service,
    reference: &str,
    force: bool,
    shutdown: &Shutdown,
) -> Result<RunRecord> {
    let conn = svc.conn();
    let task = tasks::resolve(conn, reference)?;
    let scheduler = Scheduler::new(
        svc.db().clone(),
        Arc::clone(svc.engine()?),
        Arc::new(SystemClock),
    )
    .with_wake(Arc::clone(shutdown.wake()));
    let (run, status) = scheduler.run_now(&task, force, svc.actor())?;
    if matches!(status, RunStatus::Running | RunStatus::Queued) {
        let limit = Duration::from_secs(task.definition.time_limit_secs.max(1) as u64 + 60);
        let until = Instant::now() + limit;
        while !scheduler.wait_idle(Duration::from_millis(200)) && Instant::now() < until {
            if shutdown.requested() {
                scheduler.shutdown(STOP_ON_SIGNAL);
                break;
            }
        }
    }
    Ok(RunRecord {
        run: task_runs::get(conn, run)?,
        actions: runs::of_task_run(conn, run)?,
    })
}
