//! Test fixture: sends one request as its parameters say (a credential, a
//! header of its own choosing) and hands whatever comes back to the host as
//! a log line, its summary, its error or a stored transfer. Tests use it to
//! check the HTTP policy (credential origins, reserved headers), the
//! transport (retries, Retry-After, the deadline) and the redaction of an
//! echoed token from everything the host keeps.

use b2b_plugin_sdk::http::{self, Request};
use b2b_plugin_sdk::{descriptor, incoming, log, params, Descriptor, Error, Guest, Report};

struct HttpProber;

impl Guest for HttpProber {
    fn describe() -> Descriptor {
        descriptor(
            include_str!("../plugin.toml"),
            vec![
                params::spec("url", "What to request", None),
                params::spec("method", "The method", Some("GET")),
                params::spec("credential", "A credential to name, if any", Some("")),
                params::spec(
                    "header",
                    "One `name: value` header to set, if any",
                    Some(""),
                ),
                params::spec(
                    "then",
                    "log, summary, error or store the answer, or forward it to `to`",
                    Some("log"),
                ),
                params::spec("to", "Where `then=forward` sends the answer", Some("")),
            ],
        )
    }

    fn run(params: Vec<(String, String)>) -> Result<Report, Error> {
        let get = |name| params::get(&params, name).unwrap_or("");
        let headers = match get("header").split_once(':') {
            Some((name, value)) => vec![(name.trim().to_string(), value.trim().to_string())],
            None => Vec::new(),
        };
        let request = Request {
            method: get("method").to_string(),
            url: get("url").to_string(),
            headers,
            credential: Some(get("credential").to_string()).filter(|c| !c.is_empty()),
            body: None,
        };
        let response = http::send(&[request])
            .pop()
            .expect("one answer per request")?;
        let text = String::from_utf8_lossy(&response.body).into_owned();
        let summary = format!("answered {}", response.status);
        match get("then") {
            "summary" => return Ok(fixture_support::nothing_done(&text)),
            "error" => return Err(Error::Failed(text)),
            "store" => store(&response.body, &text)?,
            "forward" => {
                let forward = Request {
                    method: "POST".into(),
                    url: get("to").to_string(),
                    headers: Vec::new(),
                    credential: None,
                    body: Some(response.body),
                };
                http::send(&[forward]).pop().expect("one answer")?;
            }
            _ => log::info(&text),
        }
        Ok(fixture_support::nothing_done(&summary))
    }
}

/// Keeps the answer as a school's transfer, and its text as that file's
/// error log.
fn store(body: &[u8], text: &str) -> Result<(), Error> {
    incoming::sync_schools(&[incoming::School {
        source_id: "PROBE1".into(),
        name: "Probe School".into(),
        urn: None,
        la_code: None,
        establishment_number: None,
        region_domain: None,
    }])?;
    let file = incoming::begin("PROBE1", true)?;
    incoming::store(file, body)?;
    incoming::fail(file, text)
}

b2b_plugin_sdk::export!(HttpProber);
