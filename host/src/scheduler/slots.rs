//! What a trigger's due slot becomes: run now (on time, or as the one
//! catch-up run for slots missed while no host ran) or recorded as missed;
//! how many slots it stands for; and the trigger's next slot.
//!
//! Nothing walks the missed slots one by one: the latest slot up to now and
//! the next one after it are found directly, and the missed ones are
//! counted (up to [`MAX_COUNTED`]) and kept as a count and a range.

use crate::storage::task_runs::Missed;
use crate::storage::tasks::{Slot, TaskDefinition};
use crate::triggers::Plan;
use chrono::{DateTime, TimeDelta, Utc};

/// A slot later than this after it was due counts as missed (the host was
/// down or asleep), not merely late.
pub(super) const ON_TIME: i64 = 120;

/// The most missed slots counted for one firing; more are recorded as this
/// many and said to be at least that.
pub const MAX_COUNTED: usize = 100_000;

/// What a due slot becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Firing {
    /// The slot recorded: the latest one due.
    pub(super) nominal: DateTime<Utc>,
    /// Why it does not run, when it does not.
    pub(super) not_run: Option<String>,
    /// The slots it stands for that did not run.
    pub(super) missed: Missed,
    /// The trigger's next slot after now.
    pub(super) next: Option<Slot>,
}

/// Works out what `slot`, the trigger's recorded next slot, becomes at `now`.
pub(super) fn fire(
    plan: &Plan,
    delay_minutes: u32,
    def: &TaskDefinition,
    slot: Slot,
    now: DateTime<Utc>,
) -> Firing {
    let recorded = at(slot.at);
    let latest = plan
        .last_at_or_before(now)
        .filter(|latest| *latest > recorded)
        .unwrap_or(recorded);
    let due = if latest == recorded {
        slot.due
    } else {
        latest.timestamp()
    };
    let in_time = in_time(def, now.timestamp() - due);
    let ended = plan.repetition_end(latest).filter(|end| *end <= now);
    let not_run = match ended {
        _ if !in_time => Some("the host was not running at this time".to_owned()),
        Some(end) => Some(format!(
            "its repetition ended at {} before it could start",
            crate::time::display(end.timestamp())
        )),
        None => None,
    };
    let slots = 1 + plan.count_between(recorded, latest, MAX_COUNTED - 1);
    let missed = if not_run.is_some() {
        range(slots, recorded, latest)
    } else if slots > 1 {
        let before = plan.last_at_or_before(latest - TimeDelta::seconds(1));
        range(slots - 1, recorded, before.unwrap_or(recorded))
    } else {
        Missed::default()
    };
    Firing {
        nominal: latest,
        not_run,
        missed,
        next: plan
            .next_after(now)
            .map(|next| Slot::delayed(next, delay_minutes)),
    }
}

/// Whether something due `late` seconds ago still runs: on time, or within
/// the task's starting deadline when it catches up.
pub(super) fn in_time(def: &TaskDefinition, late: i64) -> bool {
    late <= ON_TIME || (def.catch_up && late <= def.starting_deadline_secs)
}

fn range(count: usize, from: DateTime<Utc>, until: DateTime<Utc>) -> Missed {
    Missed {
        count: count as i64,
        from: Some(from.timestamp()),
        until: Some(until.timestamp()),
    }
}

fn at(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).expect("stored instants are in range")
}
