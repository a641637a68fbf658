//! Importing the chosen schools, a bounded number at a time.
//!
//! Each school is a small state machine that walks its students' pages and
//! then its deletions' pages. Every round sends the next request of each
//! school in the window in one `http::send`, so the host fetches them
//! concurrently, then hands each page to the host before the next round: at
//! most one page per school is held at a time.

use crate::fetch::{self, PageOf};
use crate::report::{Counts, Totals};
use crate::url;
use b2b_plugin_sdk::http::{Request, Response};
use b2b_plugin_sdk::{incoming, log, Error, Timestamp};

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
    let mut window: Vec<Job> = Vec::with_capacity(options.concurrency);
    loop {
        fill(&mut window, &mut waiting, options, &mut totals)?;
        if window.is_empty() {
            return Ok(totals);
        }
        let requests: Vec<Request> = window.iter().map(Job::request).collect();
        let responses = fetch::send(&requests)?;
        window = advance(window, responses, options, &mut totals)?;
    }
}

/// Starts waiting schools until the window is full.
fn fill<'a>(
    window: &mut Vec<Job>,
    waiting: &mut impl Iterator<Item = &'a Chosen>,
    options: &Options,
    totals: &mut Totals,
) -> Result<(), Error> {
    while window.len() < options.concurrency {
        let Some(chosen) = waiting.next() else {
            return Ok(());
        };
        match Job::start(chosen, options) {
            Ok(job) => window.push(job),
            Err(Failure::Run(e)) => return Err(e),
            // `start` has marked its file failed, if it got as far as one.
            Err(Failure::School(reason)) => failed(totals, label(&chosen.school), &reason),
        }
    }
    Ok(())
}

/// Hands each response to its job; returns the jobs with more to fetch.
fn advance(
    window: Vec<Job>,
    responses: Vec<Result<Response, Error>>,
    options: &Options,
    totals: &mut Totals,
) -> Result<Vec<Job>, Error> {
    let mut going = Vec::with_capacity(window.len());
    for (mut job, response) in window.into_iter().zip(responses) {
        match job.advance(response, options) {
            Ok(Step::More) => going.push(job),
            Ok(Step::Finish) => finish(job, totals)?,
            Err(Failure::Run(e)) => return Err(e),
            Err(Failure::School(reason)) => {
                fail_file(job.file, &reason)?;
                failed(totals, job.label, &reason);
            }
        }
    }
    Ok(going)
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

    fn request(&self) -> Request {
        fetch::get(self.url.clone())
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
