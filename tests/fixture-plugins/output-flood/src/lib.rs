//! Test fixture: floods stdout and stderr, so that a test can check that the
//! host caps what it keeps of a plugin's output.

use std::io::Write;

use b2b_plugin_sdk::{descriptor, Descriptor, Error, Guest, Report};

/// 99 bytes, so each line with its newline is 100 bytes.
const LINE: &str = "output-flood: this line is padded to ninety-nine bytes so that one hundred of them make 10 kB......";
const STDOUT_BYTES: usize = 20 << 20;
const STDERR_BYTES: usize = 1 << 20;

struct OutputFlood;

impl Guest for OutputFlood {
    fn describe() -> Descriptor {
        descriptor(include_str!("../plugin.toml"), Vec::new())
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        flood(std::io::stdout().lock(), STDOUT_BYTES);
        flood(std::io::stderr().lock(), STDERR_BYTES);
        Ok(fixture_support::nothing_done(
            "wrote 20 MiB to stdout and 1 MiB to stderr",
        ))
    }
}

/// Writes at least `bytes` bytes of lines to `out`. Errors are ignored (unlike
/// `println!`, which panics on them): a host may close or cap the stream.
fn flood(mut out: impl Write, bytes: usize) {
    for _ in 0..bytes.div_ceil(LINE.len() + 1) {
        let _ = writeln!(out, "{LINE}");
    }
    let _ = out.flush();
}

b2b_plugin_sdk::export!(OutputFlood);
