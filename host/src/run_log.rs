//! The run log: the plugin's `log` calls and its stdout/stderr, in one
//! size-capped buffer per run, each line tagged with the plugin and stream.
//!
//! When the cap is reached further output is dropped and counted rather than
//! failing the run: a chatty plugin should not lose its work, and a plugin
//! that only floods output is still stopped by the time limit.
//!
//! Every line is made safe to show as it is written ([`crate::text::shown`]):
//! a plugin's newline or escape sequence cannot forge a host line such as
//! `DENIED`, or rewrite a terminal. And every secret the run's requests
//! carried is replaced by `[redacted]`, in case a server echoed it back and
//! the plugin passed it on.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Most bytes one guest write may hand over at once.
const WRITE_BUDGET: usize = 64 * 1024;

#[derive(Debug)]
struct Buffer {
    plugin: String,
    text: String,
    cap: usize,
    dropped: u64,
    /// Unfinished last line per stream (stdout, stderr), so lines are tagged whole.
    pending: [Vec<u8>; 2],
    /// Values never to be kept: the secrets this run's requests carried.
    secrets: Vec<String>,
}

/// What replaces a secret in anything a plugin hands back.
pub(crate) const REDACTED: &str = "[redacted]";

/// A run's log. Clones share the same buffer.
#[derive(Debug, Clone)]
pub struct RunLog(Arc<Mutex<Buffer>>);

/// A guest output stream.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// stdout.
    Stdout = 0,
    /// stderr.
    Stderr = 1,
}

impl RunLog {
    /// An empty log for one run of `plugin`, keeping at most `cap` bytes.
    pub fn new(plugin: &str, cap: usize) -> Self {
        RunLog(Arc::new(Mutex::new(Buffer {
            plugin: crate::text::shown(plugin).into_owned(),
            text: String::new(),
            cap,
            dropped: 0,
            pending: [Vec::new(), Vec::new()],
            secrets: Vec::new(),
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        // A poisoned log still holds what was written before the panic.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one line with a tag such as `INFO` or `stdout`.
    pub fn line(&self, tag: &str, message: &str) {
        self.lock().push(tag, message);
    }

    /// From now on, replaces `secret` wherever it appears in the log or in
    /// what [`RunLog::redacted`] is given.
    pub(crate) fn redact(&self, secret: &str) {
        let mut buf = self.lock();
        if !secret.is_empty() && !buf.secrets.iter().any(|s| s == secret) {
            buf.secrets.push(secret.to_string());
        }
    }

    /// Whether `bytes` holds a secret of this run.
    pub(crate) fn holds_secret(&self, bytes: &[u8]) -> bool {
        self.lock()
            .secrets
            .iter()
            .any(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes()))
    }

    /// `text` as the host keeps it for people: at most `max` bytes of it,
    /// with every secret of this run redacted and escaped to show
    /// ([`crate::text::capped`]), only the part kept being worked on.
    pub(crate) fn kept(&self, text: &str, max: usize) -> String {
        self.lock().kept(text, max)
    }

    /// `text` with every secret of this run replaced by [`REDACTED`].
    pub(crate) fn redacted(&self, text: &str) -> String {
        redact_all(&self.lock().secrets, text)
    }

    /// `bytes` with every secret of this run replaced by [`REDACTED`]: for
    /// transferred data the host stores.
    pub(crate) fn redacted_bytes<'a>(&self, bytes: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        let buf = self.lock();
        let mut out = std::borrow::Cow::Borrowed(bytes);
        for secret in &buf.secrets {
            let needle = secret.as_bytes();
            if out.windows(needle.len()).any(|w| w == needle) {
                out = std::borrow::Cow::Owned(replace_bytes(&out, needle, REDACTED.as_bytes()));
            }
        }
        out
    }

    /// Appends raw guest output, tagging each complete line.
    pub fn output(&self, stream: Stream, bytes: &[u8]) {
        let mut buf = self.lock();
        let tag = stream.tag();
        let mut pending = std::mem::take(&mut buf.pending[stream as usize]);
        pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            buf.push(tag, &String::from_utf8_lossy(&pending[start..start + end]));
            start += end + 1;
        }
        pending.drain(..start);
        // Keep an unfinished line only up to the cap; beyond that it is dropped anyway.
        if pending.len() > buf.cap {
            buf.dropped += pending.len() as u64;
            pending.clear();
        }
        buf.pending[stream as usize] = pending;
    }

    /// Everything kept so far, unfinished lines included, with a note of what
    /// the cap dropped.
    pub fn contents(&self) -> String {
        let mut buf = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut buf.pending[stream as usize]);
            if !rest.is_empty() {
                buf.push(stream.tag(), &String::from_utf8_lossy(&rest));
            }
        }
        let mut text = buf.text.clone();
        if buf.dropped > 0 {
            text.push_str(&format!(
                "[log truncated: {} more bytes dropped; the cap is {} KiB (plugins.log_kb)]\n",
                buf.dropped,
                buf.cap / 1024
            ));
        }
        text
    }

    /// The last `n` lines of one tag (e.g. `stderr`), for error messages.
    pub fn tail(&self, tag: &str, n: usize) -> Vec<String> {
        let text = self.contents();
        let prefix = format!("{} {tag}: ", self.lock().plugin);
        let mut lines: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(str::to_string)
            .collect();
        lines.drain(..lines.len().saturating_sub(n));
        lines
    }
}

fn redact_all(secrets: &[String], text: &str) -> String {
    secrets.iter().fold(text.to_string(), |text, secret| {
        text.replace(secret.as_str(), REDACTED)
    })
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

impl Buffer {
    /// See [`RunLog::kept`]. Redacted before it is escaped, as the escape
    /// could split a secret; a secret straddling the cut is cut with it.
    fn kept(&self, text: &str, max: usize) -> String {
        let longest = self.secrets.iter().map(String::len).max().unwrap_or(0);
        let mut head = max.saturating_add(longest).min(text.len());
        while !text.is_char_boundary(head) {
            head -= 1;
        }
        let cut = text.len() - head;
        let mut kept = crate::text::capped(&redact_all(&self.secrets, &text[..head]), max);
        if cut > 0 && !kept.ends_with(" more bytes cut]") {
            kept.push_str(&format!("… [{cut} more bytes cut]"));
        }
        kept
    }

    fn push(&mut self, tag: &str, message: &str) {
        let room = self.cap.saturating_sub(self.text.len());
        if self.plugin.len() + tag.len() + 4 > room {
            self.dropped += message.len() as u64;
            return;
        }
        let message = self.kept(message, room);
        let line = format!("{} {tag}: {message}\n", self.plugin);
        if self.text.len() + line.len() > self.cap {
            self.dropped += line.len() as u64;
        } else {
            self.text.push_str(&line);
        }
    }
}

impl Stream {
    fn tag(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A guest's stdout or stderr, feeding a [`RunLog`].
#[derive(Clone)]
pub(crate) struct Capture {
    log: RunLog,
    stream: Stream,
}

impl Capture {
    pub(crate) fn new(log: &RunLog, stream: Stream) -> Self {
        Capture {
            log: log.clone(),
            stream,
        }
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.log.output(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.log.output(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tagged_and_split_across_writes() {
        let log = RunLog::new("demo", 1024);
        log.output(Stream::Stdout, b"hel");
        log.output(Stream::Stdout, b"lo\nwor");
        log.line("INFO", "note");
        assert_eq!(
            log.contents(),
            "demo stdout: hello\ndemo INFO: note\ndemo stdout: wor\n"
        );
    }

    #[test]
    fn a_plugin_cannot_forge_lines_or_keep_a_secret() {
        let log = RunLog::new("p", 1024);
        log.redact("tok-123");
        log.line("INFO", "ok\np DENIED: forged \x1b[2K");
        log.output(Stream::Stderr, b"echoed Bearer tok-123\r\n");
        assert_eq!(
            log.contents(),
            "p INFO: ok\\np DENIED: forged \\u{1b}[2K\np stderr: echoed Bearer [redacted]\\r\n"
        );
        assert_eq!(log.redacted("a tok-123 b"), "a [redacted] b");
        assert_eq!(
            &*log.redacted_bytes(b"xtok-123tok-123y"),
            b"x[redacted][redacted]y"
        );
    }

    #[test]
    fn output_past_the_cap_is_dropped_and_counted() {
        let log = RunLog::new("p", 64);
        for _ in 0..100 {
            log.output(Stream::Stdout, b"0123456789\n");
        }
        let text = log.contents();
        assert!(text.len() < 200, "{text}");
        assert!(text.contains("log truncated"), "{text}");
    }
}
