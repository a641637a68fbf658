//! Test fixture: an action built against the frozen `b2b:plugin@0.1.0`
//! (`wit/0.1.0/`), as a plugin written before 0.2.0 was. It clears every
//! open conflict, reading a System Default and logging on the way, so a
//! test sees its host calls (in both directions) work through the host's
//! 0.1.0 bindings.

wit_bindgen::generate!({
    world: "action",
    path: "../../../wit/0.1.0",
});

use b2b::plugin::types::Value;
use b2b::plugin::{conflicts, log, settings};

struct BuiltOn01;

impl Guest for BuiltOn01 {
    fn describe() -> Descriptor {
        Descriptor {
            id: "built-on-0-1".into(),
            name: "Built on 0.1.0".into(),
            version: "0.1.0".into(),
            description: "Test fixture: an action built against the frozen b2b:plugin@0.1.0, which the host must keep running. Clears every open conflict.".into(),
            params: vec![ParamSpec {
                name: "note".into(),
                description: "logged as given".into(),
                default: Some("none".into()),
                required: false,
            }],
        }
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let Value::Integer(days) = settings::get("files.retention_days")? else {
            return Err(Error::Failed(
                "files.retention_days is not an integer".into(),
            ));
        };
        let open = conflicts::list_open(0, 1000)?;
        let ids: Vec<i64> = open.iter().map(|c| c.id).collect();
        let cleared = conflicts::clear(&ids)?;
        let note = params
            .iter()
            .find(|(k, _)| k == "note")
            .map_or("none", |(_, v)| v.as_str());
        log::write(
            log::Level::Info,
            &format!(
                "note {note}; files kept {days} days; first item {:?}",
                open.first().map(|c| (&c.item, c.kind))
            ),
        );
        Ok(Report {
            examined: open.len() as u64,
            changed: cleared.into(),
            skipped: (open.len() as u64).saturating_sub(cleared.into()),
            summary: format!("Cleared {cleared} of {} open conflicts.", open.len()),
        })
    }
}

export!(BuiltOn01);
