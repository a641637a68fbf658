//! The Wonde endpoints: faults first (they stand for trouble before the
//! API is reached), then authentication, routing and pagination.

use super::data::{School, LA_CODE};
use super::faults::Fault;
use super::http::{Reply, Request, Response};
use super::render::{Data, Deletion, Includes, Meta, Page, Pagination, Student, WondeDate};
use super::State;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::thread;

/// Wonde's default page size.
const DEFAULT_PER_PAGE: usize = 50;
/// The largest page served; Wonde's is not documented.
const MAX_PER_PAGE: usize = 1000;

type Answer = Result<Response, Response>;

/// Each school's `region.domain`: what the real API gives a UK school, so
/// that a client pointed at the sandbox meets what it meets in production
/// (and must not follow the domain away from the server it was given).
const REGION_DOMAIN: &str = "api.wonde.com";

/// Answers one request, acting out the first fault that fires on it.
pub(super) fn handle(state: &State, request: &Request) -> Reply {
    let authorized = state.authorized(request.header("authorization"));
    let page = Query::parse(request.query())
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let fault = state.faults().take(request.path(), page);
    let normal = || answer(state, request, authorized);
    let reply = match &fault {
        None => Reply::Send(normal()),
        Some(Fault::Slow(delay)) => {
            thread::sleep(*delay);
            Reply::Send(normal())
        }
        Some(Fault::TruncatedBody) => Reply::Truncate(normal()),
        Some(Fault::ConnectionReset) => Reply::Reset,
        Some(Fault::MalformedJson) => Reply::Send(malformed(normal())),
        Some(Fault::Status(status)) => Reply::Send(Response::error(
            *status,
            "a fault injected into the sandbox",
        )),
        Some(Fault::TooMany { retry_after_secs }) => Reply::Send(too_many(*retry_after_secs)),
    };
    state.record(request, authorized, &reply, fault);
    reply
}

/// The first half of the answer, sent as a whole `200 OK`: valid framing
/// around a body that is not JSON.
fn malformed(mut response: Response) -> Response {
    response.status = 200;
    response.body = response.body.slice(..response.body.len() / 2);
    response
}

fn too_many(retry_after_secs: Option<u64>) -> Response {
    let mut response = Response::error(429, "rate limit exceeded");
    if let Some(secs) = retry_after_secs {
        response.headers.push(("Retry-After", secs.to_string()));
    }
    response
}

/// The answer to an unfaulted request: a page rendered before, or rendered
/// now (and kept when it is a `200`).
fn answer(state: &State, request: &Request, authorized: bool) -> Response {
    if !authorized {
        return route(state, request, authorized).unwrap_or_else(|error| error);
    }
    let generation = match state.pages().get(request.target()) {
        Ok(body) => {
            return Response {
                status: 200,
                headers: Vec::new(),
                body,
            }
        }
        Err(generation) => generation,
    };
    let response = route(state, request, authorized).unwrap_or_else(|error| error);
    if response.status == 200 {
        state
            .pages()
            .put(request.target(), generation, response.body.clone());
    }
    response
}

fn route(state: &State, request: &Request, authorized: bool) -> Answer {
    if !authorized {
        return Err(Response::error(
            401,
            "send the API token as `Authorization: Bearer <token>`",
        ));
    }
    if request.method != "GET" {
        return Err(Response::error(405, "the sandbox serves GET requests only"));
    }
    let rest = request
        .path()
        .strip_prefix("/v1.0/")
        .ok_or_else(no_endpoint)?;
    let query = Query::parse(request.query());
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match segments[..] {
        ["schools"] => schools(state, rest, &query),
        ["schools", id] => Ok(Response::json(
            200,
            &Data {
                data: school_json(state, find(state, id)?.1),
            },
        )),
        ["schools", id, "students"] => students(state, find(state, id)?.0, rest, &query),
        ["schools", id, "deletions"] => deletions(state, find(state, id)?.0, rest, &query),
        _ => Err(no_endpoint()),
    }
}

fn no_endpoint() -> Response {
    Response::error(404, "no such endpoint")
}

fn find<'a>(state: &'a State, id: &str) -> Result<(usize, &'a School), Response> {
    let index = state
        .roster
        .school_index(id)
        .ok_or_else(|| Response::error(404, "no such school"))?;
    Ok((index, &state.roster.schools()[index]))
}

fn schools(state: &State, rest: &str, query: &Query) -> Answer {
    let paging = Paging::from(query)?;
    let (rows, more) = paging.fetch(|skip, take| {
        let all = state.roster.schools().iter();
        all.skip(skip)
            .take(take)
            .map(|s| school_json(state, s))
            .collect()
    });
    Ok(page(state, rest, query, &paging, rows, more))
}

fn students(state: &State, school: usize, rest: &str, query: &Query) -> Answer {
    let paging = Paging::from(query)?;
    let after = updated_after(query)?;
    let includes = Includes::parse(&query.get("include").unwrap_or_default());
    let (rows, more) = paging.fetch(|skip, take| state.roster.page(school, after, skip, take));
    let data = rows
        .iter()
        .map(|s| Student::new(s, school, includes))
        .collect();
    Ok(page(state, rest, query, &paging, data, more))
}

fn deletions(state: &State, school: usize, rest: &str, query: &Query) -> Answer {
    let paging = Paging::from(query)?;
    let after = updated_after(query)?;
    // Students are the only records the sandbox deletes.
    let students = matches!(query.get("type").as_deref(), None | Some("student"));
    let (rows, more) = paging.fetch(|skip, take| {
        if students {
            state.roster.deletions(school, after, skip, take)
        } else {
            Vec::new()
        }
    });
    let data = rows.into_iter().map(Deletion::student).collect();
    Ok(page(state, rest, query, &paging, data, more))
}

/// `updated_after=YYYY-MM-DD HH:MM:SS`, in UTC.
fn updated_after(query: &Query) -> Result<Option<DateTime<Utc>>, Response> {
    let Some(raw) = query.get("updated_after") else {
        return Ok(None);
    };
    let parsed = NaiveDateTime::parse_from_str(&raw, "%Y-%m-%d %H:%M:%S")
        .map_err(|_| Response::error(422, "updated_after must be YYYY-MM-DD HH:MM:SS (UTC)"))?;
    Ok(Some(parsed.and_utc()))
}

/// Which page a request asked for.
struct Paging {
    page: usize,
    per_page: usize,
}

impl Paging {
    fn from(query: &Query) -> Result<Paging, Response> {
        let number = |key: &str, default: usize, max: usize| match query.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    Response::error(
                        422,
                        &format!("{key} must be a whole number from 1 to {max}"),
                    )
                }),
        };
        Ok(Paging {
            page: number("page", 1, usize::MAX)?,
            per_page: number("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?,
        })
    }

    /// This page's rows from `get(skip, take)`, and whether more follow.
    /// One row more than a page is asked for: its presence is the answer.
    fn fetch<T>(&self, get: impl FnOnce(usize, usize) -> Vec<T>) -> (Vec<T>, bool) {
        let skip = (self.page - 1).saturating_mul(self.per_page);
        let mut rows = get(skip, self.per_page + 1);
        let more = rows.len() > self.per_page;
        rows.truncate(self.per_page);
        (rows, more)
    }
}

/// A page with `meta.pagination`, whose links repeat the request's other
/// parameters.
fn page<T: Serialize>(
    state: &State,
    rest: &str,
    query: &Query,
    paging: &Paging,
    data: Vec<T>,
    more: bool,
) -> Response {
    let others = query.without("page");
    let link = |page: usize| format!("{}{rest}?{others}page={page}", state.base_url);
    let pagination = Pagination {
        next: more.then(|| link(paging.page + 1)),
        previous: (paging.page > 1).then(|| link(paging.page - 1)),
        more,
        per_page: paging.per_page,
        current_page: paging.page,
    };
    Response::json(
        200,
        &Page {
            data,
            meta: Meta { pagination },
        },
    )
}

/// A school as Wonde describes it; `urn` is a number, the codes strings.
fn school_json(state: &State, s: &School) -> Value {
    let a = &s.address;
    let approved = Utc.with_ymd_and_hms(2024, 7, 20, 10, 24, 14).unwrap();
    json!({
        "id": s.id, "name": s.name, "establishment_number": s.establishment_number, "urn": s.urn,
        "phase_of_education": s.phase.label(), "la_code": LA_CODE, "timezone": "Europe/London", "mis": s.mis,
        "address": {
            "address_line_1": format!("{} {}", a.house_number, a.street), "address_line_2": a.district,
            "address_town": a.town.name, "address_postcode": a.postcode,
            "address_country": {"code": "GBR", "name": "United Kingdom"},
        },
        "extended": {
            "allows_writeback": false, "has_timetables": false, "has_lesson_attendance": false,
            "audit_approved_at": WondeDate::utc(approved),
        },
        "region": {
            "code": "GBR", "domain": REGION_DOMAIN, "school_url": format!("{}schools/{}", state.base_url, s.id),
            "identifiers": {"la_code": LA_CODE, "establishment_number": s.establishment_number, "urn": s.urn},
        },
    })
}

/// A query string, kept raw so pagination links can repeat it as sent.
struct Query<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Query<'a> {
    fn parse(raw: &'a str) -> Query<'a> {
        let pairs = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        Query { pairs }
    }

    /// The decoded value of the first `key`.
    fn get(&self, key: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| decode(v))
    }

    /// Every other pair as sent, each followed by `&`.
    fn without(&self, key: &str) -> String {
        let kept = self.pairs.iter().filter(|(k, _)| *k != key);
        kept.map(|(k, v)| format!("{k}={v}&")).collect()
    }
}

/// Percent-decoding, with `+` for a space as forms send it.
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
