//! Text a plugin or a school supplied, made safe to show a person.
//!
//! A terminal obeys what it prints: a newline in a plugin's log line forges
//! a host line under it, an ANSI escape rewrites what is already on screen,
//! a bidirectional override makes `9` capabilities read as `1`. So every
//! string that came from outside the host is passed through [`shown`] (or
//! [`capped`], which also bounds its size) before it is printed or stored
//! for printing. Control characters and invisible formatting characters
//! become visible escapes such as `\n` or `\u{1b}`; everything else is left
//! as it was. HTML escaping is the web page's job, at render time.

use std::borrow::Cow;

/// Whether a character could change how surrounding text is displayed
/// rather than being displayed itself.
fn hazardous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' // zero-width space, joiners, LRM/RLM
            | '\u{2028}'..='\u{202e}' // line/paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{206f}' // word joiner, invisible operators, bidi isolates
            | '\u{feff}' // zero-width no-break space
            | '\u{fff9}'..='\u{fffb}' // interlinear annotations
        )
}

/// `s` with every hazardous character written as a visible escape, on one
/// line. Borrowed when there was nothing to escape (the usual case).
pub fn shown(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hazardous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hazardous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`shown`], then cut to at most `max` bytes (on a character boundary)
/// with a note of how much was cut, so a plugin cannot make the host keep
/// or print more than it allows.
pub fn capped(s: &str, max: usize) -> String {
    let shown = shown(s);
    if shown.len() <= max {
        return shown.into_owned();
    }
    let mut end = max;
    while !shown.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes cut]", &shown[..end], shown.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_become_visible() {
        assert_eq!(shown("plain text, é and 名"), "plain text, é and 名");
        assert!(matches!(shown("plain"), Cow::Borrowed(_)));
        assert_eq!(shown("ok\nnoop DENIED: forged"), "ok\\nnoop DENIED: forged");
        assert_eq!(shown("\x1b[2Kgone"), "\\u{1b}[2Kgone");
        assert_eq!(shown("a\u{202e}1\u{2066}"), "a\\u{202e}1\\u{2066}");
        assert_eq!(shown("\r\t\u{7f}\u{85}"), "\\r\\t\\u{7f}\\u{85}");
    }

    #[test]
    fn capped_text_says_how_much_was_cut() {
        assert_eq!(capped("short", 10), "short");
        assert_eq!(capped("abcdef", 3), "abc… [3 more bytes cut]");
        // Never splits a character.
        assert_eq!(capped("ééé", 3), "é… [4 more bytes cut]");
        // Escapes count towards the cap.
        assert!(capped(&"\n".repeat(100), 10).starts_with("\\n\\n\\n\\n\\n…"));
    }
}
