//! Test fixture: hands the host MiBs as its summary, its error or a log
//! line, so a test can check that the host keeps only a bounded part, and
//! refuses to take in more than a call may carry.

use b2b_plugin_sdk::{descriptor, log, params, Descriptor, Error, Guest, Report};

struct Bloater;

impl Guest for Bloater {
    fn describe() -> Descriptor {
        descriptor(
            include_str!("../plugin.toml"),
            vec![
                params::spec("what", "summary, error or log", Some("summary")),
                params::spec("mb", "How many MiB", Some("60")),
            ],
        )
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let mb = params::non_negative_int(&params, "mb")?.unwrap_or(60) as usize;
        let big = "x".repeat(mb << 20);
        match params::get(&params, "what").unwrap_or("summary") {
            "error" => Err(Error::Failed(big)),
            "log" => {
                log::info(&big);
                println!("{big}");
                Ok(fixture_support::nothing_done("logged"))
            }
            _ => Ok(fixture_support::nothing_done(&big)),
        }
    }
}

b2b_plugin_sdk::export!(Bloater);
