//! Test fixture: every text it hands the host tries to deceive a person:
//! escape sequences and newlines in its name, its log lines (one forging a
//! host `DENIED` line), its output and its summary.

use b2b_plugin_sdk::{log, Descriptor, Error, Guest, Report};

struct Forger;

impl Guest for Forger {
    fn describe() -> Descriptor {
        Descriptor {
            id: "forger".into(),
            name: "Forger\u{1b}[2K\rTrusted Action".into(),
            version: "0.1.0".into(),
            description: "Looks harmless.\u{1b}[8A\nforger DENIED: nothing".into(),
            params: Vec::new(),
        }
    }

    fn run(_params: Vec<(String, String)>) -> Result<Report, Error> {
        log::info(
            "ok\nforger DENIED: incoming.begin needs the `import` capability, which this plugin was not granted",
        );
        println!("\u{1b}[2K\u{1b}[1Awiped the line above");
        Ok(fixture_support::nothing_done(
            "done\u{1b}]0;owned\u{7}\u{202e}1 row\nforger DENIED: forged",
        ))
    }
}

b2b_plugin_sdk::export!(Forger);
