//! Importing the chosen schools, a bounded number at a time.
//!
//! Each school is a small state machine that walks its students' pages and
//! then its deletions' pages. Each school in the window has one request in
//! flight (`http::start`); whichever answers first (`http::next`) is handed
//! to the host and that school's next request begun at once, so the schools
//! go at their own pace: a slow one holds up no other, and fails alone when
//! the host's retries give up. At most one page per school is held at a
//! time.

use crate::fetch::{self, PageOf};
use crate::report::{Counts, Totals};
use crate::url;
use b2b_plugin_sdk::http::{self, Response};
use b2b_plugin_sdk::{incoming, log, Error, Timestamp};
use std::collections::BTreeMap;

/// The most students one `incoming::submit` call takes.
const MAX_BATCH: usize = 5000;

/// How the run fetches, from the System Defaults and parameters.
pub struct Options {
    /// The Wonde base URL, ending in `/`.
    pub base: String,
    pub per_page: u32,
    /// Schools fetched at the same time.
    pub concurrency: usize,
    /// Fetch everything, ignoring the last successful import.
    pub full: bool,
}

/// A school to import.
pub struct Chosen {
    pub school: incoming::School,
    pub last_success: Option<Timestamp>,
}

/// Why a school's import stopped.
enum Failure {
    /// Something that stops every school: the run fails.
    Run(Error),
    /// A reason a person can act on; the other schools carry on.
    School(String),
}

/// A host import call that failed. `denied` means the grant lacks `import`,
/// which no other school would have either; anything else is this school's.
impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::Denied(_) => Failure::Run(e),
            other => Failure::School(format!(
                "B2B could not take in the data: {}",
                fetch::describe(&other)
            )),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Students,
    Deletions,
}

/// What handling one response left to do.
enum Step {
    /// Fetch the next page.
    More,
    /// Everything is fetched: apply the file.
    Finish,
}

/// One school's import in progress.
struct Job {
    id: String,
    label: String,
    /// The base URL for this school's region.
    base: String,
    /// `updated_after`, unless everything is fetched.
    since: Option<String>,
    file: i64,
    part: Part,
    page: u32,
    /// The request this job is waiting on.
    url: String,
}

/// Imports `schools`, at most `options.concurrency` at a time. Fails only for
/// what would fail every school; a school's own failure is in the totals.
pub fn import(schools: Vec<Chosen>, options: &Options) -> Result<Totals, Error> {
    let mut totals = Totals {
        chosen: schools.len(),
        ..Totals::default()
    };
    let mut waiting = schools.iter();
    // Each school in flight by the handle of the request it waits on.
    let mut window: BTreeMap<u64, Job> = BTreeMap::new();
    loop {
        fill(&mut window, &mut waiting, options, &mut totals)?;
        if window.is_empty() {
            return Ok(totals);
        }
        let Some((handle, answer)) = http::next() else {
            return Err(Error::Failed(format!(
                "the host has no request in flight while {} schools wait on one",
                window.len()
            )));
        };
        let job = window.remove(&handle).ok_or_else(|| {
            Error::Failed(format!(
                "the host answered request {handle}, which no school began"
            ))
        })?;
        step(job, answer, options, &mut window, &mut totals)?;
    }
}

/// Starts waiting schools until the window is full.
fn fill<'a>(
    window: &mut BTreeMap<u64, Job>,
    waiting: &mut impl Iterator<Item = &'a Chosen>,
    options: &Options,
    totals: &mut Totals,
) -> Result<(), Error> {
    while window.len() < options.concurrency {
        let Some(chosen) = waiting.next() else {
            return Ok(());
        };
        match Job::start(chosen, options) {
            Ok(job) => launch(job, window, totals)?,
            Err(Failure::Run(e)) => return Err(e),
            // `start` has marked its file failed, if it got as far as one.
            Err(Failure::School(reason)) => failed(totals, label(&chosen.school), &reason),
        }
    }
    Ok(())
}

/// Hands a response to its school, then begins that school's next request
/// or applies its file.
fn step(
    mut job: Job,
    answer: Result<Response, Error>,
    options: &Options,
    window: &mut BTreeMap<u64, Job>,
    totals: &mut Totals,
) -> Result<(), Error> {
    match job.advance(answer, options) {
        Ok(Step::More) => launch(job, window, totals),
        Ok(Step::Finish) => finish(job, totals),
        Err(failure) => give_up(job, failure, totals),
    }
}

/// Begins the request `job` waits on, and puts it in the window under that
/// request's handle.
fn launch(job: Job, window: &mut BTreeMap<u64, Job>, totals: &mut Totals) -> Result<(), Error> {
    match http::start(&fetch::get(job.url.clone())) {
        Ok(handle) => {
            window.insert(handle, job);
            Ok(())
        }
        Err(Error::Denied(capability)) => Err(Error::Denied(capability)),
        Err(e) => {
            let reason = format!(
                "B2B could not ask Wonde for {}: {}",
                job.page_of(),
                fetch::describe(&e)
            );
            give_up(job, Failure::School(reason), totals)
        }
    }
}

/// A school's failure fails its file and goes in the totals; a failure of
/// the whole run is returned.
fn give_up(job: Job, failure: Failure, totals: &mut Totals) -> Result<(), Error> {
    match failure {
        Failure::Run(e) => Err(e),
        Failure::School(reason) => {
            fail_file(job.file, &reason)?;
            failed(totals, job.label, &reason);
            Ok(())
        }
    }
}

/// Applies a school's file. When applying fails, the host has already marked
/// the file failed with its reason.
fn finish(job: Job, totals: &mut Totals) -> Result<(), Error> {
    match incoming::finish(job.file).map_err(Failure::from) {
        Ok(outcome) => {
            let counts = Counts::from(&outcome);
            log::info(&format!("School {}: imported; {counts}.", job.label));
            totals.imported(counts);
        }
        Err(Failure::Run(e)) => return Err(e),
        Err(Failure::School(reason)) => failed(totals, job.label, &reason),
    }
    Ok(())
}

/// Marks `file` failed with `reason`. Only a missing grant fails the run: the
/// host refusing for this one file must not undo every other school's import.
fn fail_file(file: i64, reason: &str) -> Result<(), Error> {
    match incoming::fail(file, reason).map_err(Failure::from) {
        Ok(()) => Ok(()),
        Err(Failure::Run(e)) => Err(e),
        Err(Failure::School(why)) => {
            log::warn(&format!("File {file} could not be marked failed: {why}."));
            Ok(())
        }
    }
}

fn failed(totals: &mut Totals, label: String, reason: &str) {
    log::warn(&format!("School {label}: failed; {reason}."));
    totals.failed.push(label);
}

/// "id (name)", or the id alone when Wonde gave no name.
fn label(school: &incoming::School) -> String {
    match school.name.trim() {
        "" => school.source_id.clone(),
        name => format!("{} ({name})", school.source_id),
    }
}

impl Job {
    /// Begins the school's file and its first request. A school that cannot
    /// start once its file is begun has that file marked failed, so the
    /// reason is kept with the school's transfers.
    fn start(chosen: &Chosen, options: &Options) -> Result<Self, Failure> {
        let id = &chosen.school.source_id;
        let since = match (options.full, chosen.last_success) {
            (false, Some(at)) => Some(url::updated_after(at)),
            _ => None,
        };
        // The file says whether it holds everything: a first import is full
        // whether or not `full` was asked for.
        let file = incoming::begin(id, since.is_none())?;
        let base = match url::school_base(&options.base, chosen.school.region_domain.as_deref()) {
            Ok(base) => base.into_owned(),
            Err(reason) => {
                fail_file(file, &reason).map_err(Failure::Run)?;
                return Err(Failure::School(reason));
            }
        };
        let url = url::students(&base, id, options.per_page, since.as_deref());
        Ok(Self {
            id: id.clone(),
            label: label(&chosen.school),
            base,
            since,
            file,
            part: Part::Students,
            page: 1,
            url,
        })
    }

    fn page_of(&self) -> PageOf<'_> {
        PageOf {
            list: match self.part {
                Part::Students => "students",
                Part::Deletions => "student deletions",
            },
            school: Some(&self.id),
            number: self.page,
        }
    }

    /// Stores and hands over the page that answered this job's request, and
    /// moves on to the next page, to the deletions, or to finishing.
    fn advance(
        &mut self,
        response: Result<Response, Error>,
        options: &Options,
    ) -> Result<Step, Failure> {
        let page = self.page_of();
        let body = fetch::body(response, &page).map_err(Failure::School)?;
        incoming::store(self.file, &body)?;
        let link = match self.part {
            Part::Students => self.submit(&body, &page)?,
            Part::Deletions => self.delete(&body, &page)?,
        };
        match fetch::next(link.as_deref(), &self.url, &page).map_err(Failure::School)? {
            Some(next) => {
                self.url = next;
                self.page += 1;
            }
            None if self.part == Part::Students => {
                self.part = Part::Deletions;
                self.page = 1;
                self.url = url::deletions(
                    &self.base,
                    &self.id,
                    options.per_page,
                    self.since.as_deref(),
                );
            }
            None => return Ok(Step::Finish),
        }
        Ok(Step::More)
    }

    /// Hands a page of students to the host; returns the link to the next.
    fn submit(&self, body: &[u8], page: &PageOf) -> Result<Option<String>, Failure> {
        let mapped = fetch::read(body, page, wonde_map::students_page).map_err(Failure::School)?;
        if mapped.skipped > 0 {
            log::warn(&format!(
                "School {}: skipped {} students on {page} that Wonde sent without an id.",
                self.label, mapped.skipped
            ));
        }
        for chunk in mapped.records.chunks(MAX_BATCH) {
            incoming::submit(self.file, chunk)?;
        }
        Ok(mapped.next)
    }

    /// Records a page of deletions; returns the link to the next.
    fn delete(&self, body: &[u8], page: &PageOf) -> Result<Option<String>, Failure> {
        let mapped =
            fetch::read(body, page, wonde_map::deleted_students_page).map_err(Failure::School)?;
        if !mapped.records.is_empty() {
            incoming::deleted(self.file, &mapped.records)?;
        }
        Ok(mapped.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school(name: &str) -> incoming::School {
        incoming::School {
            source_id: "A1".into(),
            name: name.into(),
            urn: None,
            la_code: None,
            establishment_number: None,
            region_domain: None,
        }
    }

    #[test]
    fn labels_schools() {
        assert_eq!(label(&school("Example Academy")), "A1 (Example Academy)");
        assert_eq!(label(&school(" ")), "A1");
    }

    #[test]
    fn only_denied_host_calls_stop_the_run() {
        assert!(matches!(
            Failure::from(Error::Denied("import".into())),
            Failure::Run(Error::Denied(_))
        ));
        let Failure::School(reason) = Failure::from(Error::Failed("disk full".into())) else {
            panic!("a failed host call stopped the run");
        };
        assert_eq!(reason, "B2B could not take in the data: disk full");
    }
}
