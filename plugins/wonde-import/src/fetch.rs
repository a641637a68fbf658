//! Asking Wonde for pages through the host, and turning what comes back into
//! JSON or into a sentence a person can act on.

use b2b_plugin_sdk::http::{self, Request, Response};
use b2b_plugin_sdk::Error;
use std::fmt;
use wonde_map::Page;

/// The credential the host turns into `Authorization: Bearer ...`.
const CREDENTIAL: &str = "wonde";

/// The whole-run failure when Wonde refuses the token.
pub const TOKEN_REFUSED: &str =
    "Wonde refused the token (401): set it with `b2b secrets set wonde` or B2B_WONDE_TOKEN";

/// One page of something, to say which in messages.
#[derive(Debug, Clone, Copy)]
pub struct PageOf<'a> {
    /// What the pages list: "school list", "students", "student deletions".
    pub list: &'static str,
    /// The school whose list it is, if any.
    pub school: Option<&'a str>,
    /// Counting from 1.
    pub number: u32,
}

impl fmt::Display for PageOf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "page {} of the {}", self.number, self.list)?;
        match self.school {
            Some(school) => write!(f, " of school {school}"),
            None => Ok(()),
        }
    }
}

/// A `GET` of `url` with the Wonde credential.
pub fn get(url: String) -> Request {
    Request {
        method: "GET".into(),
        url,
        headers: vec![("accept".into(), "application/json".into())],
        credential: Some(CREDENTIAL.into()),
        body: None,
    }
}

/// Sends `requests` at once and checks the host answered each one.
pub fn send(requests: &[Request]) -> Result<Vec<Result<Response, Error>>, Error> {
    let responses = http::send(requests);
    // Zipping a short answer would silently drop a school.
    if responses.len() != requests.len() {
        return Err(Error::Failed(format!(
            "the host returned {} HTTP results for {} requests",
            responses.len(),
            requests.len()
        )));
    }
    Ok(responses)
}

/// The body of a `200 OK`; anything else, after the host's retries, as a
/// reason a person can act on.
pub fn body(result: Result<Response, Error>, page: &PageOf) -> Result<Vec<u8>, String> {
    match result {
        Ok(response) if response.status == 200 => Ok(response.body),
        Ok(response) => Err(status_reason(response.status, page)),
        Err(e) => Err(format!(
            "B2B could not fetch {page} from Wonde: {}",
            describe(&e)
        )),
    }
}

fn status_reason(status: u16, page: &PageOf) -> String {
    let advice = match status {
        401 => return TOKEN_REFUSED.into(),
        403 => "the school has not approved access to this data",
        404 => "Wonde does not know it; check the school has not revoked access, and the System Default `wonde.base_url`",
        429 => "Wonde was still limiting requests after retries; try again later or lower the System Default `wonde.concurrency`",
        500..=599 => "Wonde was failing even after retries; try again later",
        _ => "B2B does not expect that answer; check the System Default `wonde.base_url`",
    };
    let phrase = match status {
        403 => " Forbidden",
        404 => " Not Found",
        429 => " Too Many Requests",
        500 => " Internal Server Error",
        502 => " Bad Gateway",
        503 => " Service Unavailable",
        504 => " Gateway Timeout",
        _ => "",
    };
    format!("Wonde answered {status}{phrase} for {page}: {advice}")
}

/// A host error as text for a person.
pub fn describe(e: &Error) -> String {
    match e {
        Error::Denied(capability) => format!("the plugin is not granted `{capability}`"),
        Error::Invalid(message) | Error::Failed(message) => message.clone(),
    }
}

/// `body` read by `map` (one of `wonde_map`'s page readers), or why it
/// could not be.
pub fn read<T>(
    body: &[u8],
    page: &PageOf,
    map: impl FnOnce(&[u8]) -> Result<Page<T>, serde_json::Error>,
) -> Result<Page<T>, String> {
    map(body).map_err(|e| {
        let problem = if e.is_data() {
            "was not in the shape Wonde documents"
        } else {
            "was not valid JSON"
        };
        format!("the response for {page} {problem}: {e}")
    })
}

/// The page after `current`, as Wonde linked it. A link back to the page just
/// fetched would never end, so it is a failure rather than a loop.
pub fn next(link: Option<&str>, current: &str, page: &PageOf) -> Result<Option<String>, String> {
    match link {
        Some(link) if link == current => Err(format!(
            "Wonde linked {page} to itself as the next page, so B2B stopped rather than loop"
        )),
        link => Ok(link.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: PageOf = PageOf {
        list: "students",
        school: Some("A123"),
        number: 3,
    };

    fn response(status: u16, body: &str) -> Result<Response, Error> {
        Ok(Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn names_the_page() {
        assert_eq!(PAGE.to_string(), "page 3 of the students of school A123");
        let schools = PageOf {
            list: "school list",
            school: None,
            number: 1,
        };
        assert_eq!(schools.to_string(), "page 1 of the school list");
    }

    #[test]
    fn only_200_is_a_body() {
        assert_eq!(body(response(200, "{}"), &PAGE).unwrap(), b"{}");
        assert_eq!(body(response(401, ""), &PAGE).unwrap_err(), TOKEN_REFUSED);
        assert_eq!(
            body(response(403, "{}"), &PAGE).unwrap_err(),
            "Wonde answered 403 Forbidden for page 3 of the students of school A123: \
             the school has not approved access to this data"
        );
        for (status, says) in [
            (204, "204 for"),
            (404, "404 Not Found"),
            (429, "wonde.concurrency"),
            (503, "503 Service Unavailable"),
            (599, "try again later"),
        ] {
            let reason = body(response(status, ""), &PAGE).unwrap_err();
            assert!(reason.contains(says), "{reason}");
        }
        assert_eq!(
            body(Err(Error::Failed("timed out after 3 tries".into())), &PAGE).unwrap_err(),
            "B2B could not fetch page 3 of the students of school A123 from Wonde: timed out after 3 tries"
        );
        assert!(body(Err(Error::Denied("http:api.wonde.us".into())), &PAGE)
            .unwrap_err()
            .ends_with("the plugin is not granted `http:api.wonde.us`"));
    }

    #[test]
    fn says_why_a_body_does_not_parse() {
        let bad = read(b"{\"data\": [", &PAGE, wonde_map::students_page);
        assert!(bad.unwrap_err().starts_with(
            "the response for page 3 of the students of school A123 was not valid JSON: "
        ));
        let shape = read(b"{\"data\": 5}", &PAGE, wonde_map::students_page);
        assert!(shape
            .unwrap_err()
            .contains("was not in the shape Wonde documents"));
    }

    #[test]
    fn refuses_a_next_link_to_the_same_page() {
        assert_eq!(next(None, "u", &PAGE), Ok(None));
        assert_eq!(next(Some("v"), "u", &PAGE), Ok(Some("v".into())));
        assert!(next(Some("u"), "u", &PAGE)
            .unwrap_err()
            .contains("to itself"));
    }
}
