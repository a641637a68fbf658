//! How the CLI prints: aligned tables for people, JSON for scripts.
//!
//! Table cells hold what schools and plugins sent (names, postcodes, error
//! logs), so each is escaped (`b2b_host::text::shown`) before it reaches the
//! terminal; JSON escapes control characters by itself.

use serde::Serialize;

/// Prints rows as an aligned table, or as JSON when `json` is set.
pub fn listing<T: Serialize>(
    json: bool,
    items: &[T],
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(items).expect("listings serialise")
        );
        return;
    }
    if items.is_empty() {
        println!("(none)");
        return;
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            row(item)
                .into_iter()
                .map(|cell| b2b_host::text::shown(&cell).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}

/// Prints one value as pretty JSON, or through `human` for people.
pub fn single<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T)) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("values serialise")
        );
    } else {
        human(value);
    }
}

/// An optional value for a table cell or a line, escaped.
pub fn opt(v: &Option<impl ToString>) -> String {
    v.as_ref()
        .map(|v| b2b_host::text::shown(&v.to_string()).into_owned())
        .unwrap_or_else(|| "-".into())
}
