//! Walking the host's `list`-style calls page by page.
//!
//! Every listing takes `(after, limit)` and returns rows with ids greater than
//! `after` in id order. Paging by the last id seen (rather than by offset)
//! means an action can delete or clear the rows of one page before fetching
//! the next without skipping any.

use crate::bindings::b2b::plugin::{cache, conflicts, files};
use crate::Error;

/// Rows per host call: big enough that crossing the sandbox is cheap, well
/// under the host's limit of 5000 (which also bounds `students::held-values`).
pub const PAGE_SIZE: u32 = 1000;

/// A row with the stable id that listings page by.
pub trait Keyed {
    /// The row's id.
    fn id(&self) -> i64;
}

impl Keyed for conflicts::Conflict {
    fn id(&self) -> i64 {
        self.id
    }
}

impl Keyed for files::FileInfo {
    fn id(&self) -> i64 {
        self.id
    }
}

impl Keyed for cache::Entry {
    fn id(&self) -> i64 {
        self.id
    }
}

/// Pages of [`PAGE_SIZE`] rows from `fetch(after, limit)`, e.g.
/// `pages(conflicts::list_open)`, until the host returns an empty page.
///
/// Stops after the first error, which it yields.
pub fn pages<T, F>(fetch: F) -> Pages<F>
where
    T: Keyed,
    F: FnMut(i64, u32) -> Result<Vec<T>, Error>,
{
    Pages {
        fetch,
        // Host ids are SQLite row ids, which start at 1.
        after: Some(0),
    }
}

/// The iterator returned by [`pages`].
pub struct Pages<F> {
    fetch: F,
    /// The last id seen; `None` once the walk is over.
    after: Option<i64>,
}

impl<T, F> Iterator for Pages<F>
where
    T: Keyed,
    F: FnMut(i64, u32) -> Result<Vec<T>, Error>,
{
    type Item = Result<Vec<T>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let after = self.after.take()?;
        let page = match (self.fetch)(after, PAGE_SIZE) {
            Ok(page) => page,
            Err(e) => return Some(Err(e)),
        };
        let last = page.last()?.id();
        // A host that did not move forward would keep the walk going forever.
        if last <= after {
            return Some(Err(Error::Failed(format!(
                "host listed id {last} after id {after}: listings must be in id order"
            ))));
        }
        self.after = Some(last);
        Some(Ok(page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(i64);

    impl Keyed for Row {
        fn id(&self) -> i64 {
            self.0
        }
    }

    fn ids(pages: Pages<impl FnMut(i64, u32) -> Result<Vec<Row>, Error>>) -> Vec<Vec<i64>> {
        pages
            .map(|page| page.unwrap().iter().map(Keyed::id).collect())
            .collect()
    }

    #[test]
    fn walks_by_last_id_until_empty() {
        let rows = [3, 5, 9];
        let mut calls = Vec::new();
        let walk = pages(|after, limit| {
            calls.push(after);
            assert_eq!(limit, PAGE_SIZE);
            // Two rows a page, to see more than one page.
            Ok(rows
                .iter()
                .filter(|&&id| id > after)
                .take(2)
                .map(|&id| Row(id))
                .collect())
        });
        assert_eq!(ids(walk), vec![vec![3, 5], vec![9]]);
        assert_eq!(calls, vec![0, 5, 9]);
    }

    #[test]
    fn stops_after_an_error() {
        let mut walk = pages(|_, _| Err::<Vec<Row>, _>(Error::Denied("files:read".into())));
        assert!(matches!(walk.next(), Some(Err(Error::Denied(_)))));
        assert!(walk.next().is_none());
    }

    #[test]
    fn refuses_a_host_that_goes_backwards() {
        let mut walk = pages(|_, _| Ok(vec![Row(0)]));
        assert!(matches!(walk.next(), Some(Err(Error::Failed(_)))));
        assert!(walk.next().is_none());
    }
}
