//! Who each school lists now: the generated students, plus a small overlay
//! of what changed since. Only the overlay is stored, so memory stays flat
//! however many students the sandbox serves.

use super::data::{self, SandboxStudent, School, SCHOOL_CAPACITY};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Why a student is no longer listed.
#[derive(Debug, Clone, Copy)]
enum Gone {
    /// Left the school: simply not listed any more.
    Left,
    /// Deleted at source, at this time: listed by `deletions`.
    Deleted(DateTime<Utc>),
}

/// One school's changes since the data was generated.
#[derive(Debug, Default)]
struct Changes {
    /// Pupils added, numbered on from the generated ones.
    added: usize,
    /// The current version of every edited or added student.
    changed: BTreeMap<usize, SandboxStudent>,
    gone: BTreeMap<usize, Gone>,
}

/// Every school's students, generated on demand.
#[derive(Debug)]
pub(super) struct Roster {
    seed: u64,
    per_school: usize,
    schools: Vec<School>,
    changes: RwLock<Vec<Changes>>,
}

impl Roster {
    pub(super) fn new(seed: u64, schools: usize, per_school: usize) -> Roster {
        Roster {
            seed,
            per_school,
            schools: (0..schools).map(|i| data::school(seed, i)).collect(),
            changes: RwLock::new((0..schools).map(|_| Changes::default()).collect()),
        }
    }

    pub(super) fn schools(&self) -> &[School] {
        &self.schools
    }

    /// The index of the school with this Wonde id.
    pub(super) fn school_index(&self, id: &str) -> Option<usize> {
        self.schools.iter().position(|s| s.id == id)
    }

    /// Students `skip..skip + take` of those `school` lists (none for an
    /// unknown school), only those updated strictly after `after` when given.
    pub(super) fn page(
        &self,
        school: usize,
        after: Option<DateTime<Utc>>,
        skip: usize,
        take: usize,
    ) -> Vec<SandboxStudent> {
        let changes = self.read();
        let Some(c) = changes.get(school) else {
            return Vec::new();
        };
        (0..self.per_school + c.added)
            .filter(|&i| self.lists(c, i))
            .filter(|i| after.is_none_or(|t| updated_at(c, *i) > t))
            .skip(skip)
            .take(take)
            .map(|i| self.current(c, school, i))
            .collect()
    }

    /// Ids and deletion times of students deleted at source, those deleted
    /// strictly after `after` when given, `skip..skip + take` of them.
    pub(super) fn deletions(
        &self,
        school: usize,
        after: Option<DateTime<Utc>>,
        skip: usize,
        take: usize,
    ) -> Vec<(String, DateTime<Utc>)> {
        let changes = self.read();
        let c = &changes[school];
        c.gone
            .iter()
            .filter_map(|(&i, gone)| match gone {
                Gone::Deleted(at) if after.is_none_or(|t| *at > t) => Some((i, *at)),
                _ => None,
            })
            .skip(skip)
            .take(take)
            .map(|(i, at)| (self.current(c, school, i).id, at))
            .collect()
    }

    /// The student as served now, or `None` when not listed.
    pub(super) fn student(&self, school: usize, index: usize) -> Option<SandboxStudent> {
        let changes = self.read();
        let c = changes.get(school)?;
        self.lists(c, index).then(|| self.current(c, school, index))
    }

    /// Changes a listed student and stamps it as updated now.
    pub(super) fn edit(&self, school: usize, index: usize, f: impl FnOnce(&mut SandboxStudent)) {
        let mut changes = self.write();
        let c = self.listed_mut(&mut changes, school, index);
        let mut student = self.current(c, school, index);
        f(&mut student);
        student.updated_at = now();
        c.changed.insert(index, student);
    }

    /// A new pupil at `school`, created and updated now.
    pub(super) fn add(&self, school: usize) -> SandboxStudent {
        let mut changes = self.write();
        let c = changes.get_mut(school).expect("no such sandbox school");
        let index = self.per_school + c.added;
        assert!(
            index < SCHOOL_CAPACITY,
            "a sandbox school holds at most {SCHOOL_CAPACITY} students"
        );
        c.added += 1;
        let mut student = self.generate(school, index);
        student.created_at = now();
        student.updated_at = student.created_at;
        c.changed.insert(index, student.clone());
        student
    }

    /// Stops listing a student; a deletion is also listed by `deletions`.
    pub(super) fn remove(&self, school: usize, index: usize, deleted: bool) {
        let mut changes = self.write();
        let c = self.listed_mut(&mut changes, school, index);
        let gone = if deleted {
            Gone::Deleted(now())
        } else {
            Gone::Left
        };
        c.gone.insert(index, gone);
    }

    fn generate(&self, school: usize, index: usize) -> SandboxStudent {
        data::student(self.seed, school, &self.schools[school], index)
    }

    fn current(&self, c: &Changes, school: usize, index: usize) -> SandboxStudent {
        match c.changed.get(&index) {
            Some(s) => s.clone(),
            None => self.generate(school, index),
        }
    }

    /// A school's changes, for changing a student it lists; anything else
    /// is a mistake in the calling test.
    fn listed_mut<'a>(
        &self,
        changes: &'a mut [Changes],
        school: usize,
        index: usize,
    ) -> &'a mut Changes {
        let c = changes.get_mut(school).expect("no such sandbox school");
        assert!(
            self.lists(c, index),
            "school {school} does not list student {index}"
        );
        c
    }

    fn lists(&self, c: &Changes, index: usize) -> bool {
        index < self.per_school + c.added && !c.gone.contains_key(&index)
    }

    // A panic while holding the lock cannot leave the overlay half-changed
    // (every change is a single insert), so a poisoned lock is still good to use.
    fn read(&self) -> RwLockReadGuard<'_, Vec<Changes>> {
        self.changes.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<Changes>> {
        self.changes.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn updated_at(c: &Changes, index: usize) -> DateTime<Utc> {
    c.changed
        .get(&index)
        .map_or_else(data::base_time, |s| s.updated_at)
}

/// Now, to the whole second: Wonde's timestamps carry no fractions, so a
/// client's `updated_after` cursor meets the same rounding as in production.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}
