//! The sandbox over real HTTP, through a minimal client on `TcpStream`.

use super::*;
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// No test waits longer than this on a socket.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Bounds every loop that follows `next`.
const MAX_PAGES: usize = 10_000;

/// A response as received.
struct Received {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn header(&self, name: &str) -> Option<&str> {
        let found = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
        found.map(|(_, v)| v.as_str())
    }
}

/// One keep-alive connection.
struct Client {
    reader: BufReader<TcpStream>,
    auth: Option<String>,
}

impl Client {
    fn new(sandbox: &Sandbox) -> Client {
        Client::with_auth(sandbox, Some(format!("Bearer {}", sandbox.token())))
    }

    fn with_auth(sandbox: &Sandbox, auth: Option<String>) -> Client {
        let url = sandbox.base_url();
        let host = url.trim_start_matches("http://").split('/').next().unwrap();
        let stream = TcpStream::connect(host).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        Client {
            reader: BufReader::new(stream),
            auth,
        }
    }

    /// Sends `GET target`: a path, or an absolute URL as `next` gives.
    fn send(&mut self, target: &str) {
        let path = match target.strip_prefix("http://") {
            Some(rest) => &rest[rest.find('/').unwrap()..],
            None => target,
        };
        let auth = self
            .auth
            .as_ref()
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let request = format!("GET {path} HTTP/1.1\r\nHost: sandbox\r\n{auth}\r\n");
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
    }

    fn head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status = status_line
            .split(' ')
            .nth(1)
            .expect("a status line")
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let Some((name, value)) = line.trim_end().split_once(':') else {
                break;
            };
            headers.push((name.to_string(), value.trim().to_string()));
        }
        (status, headers)
    }

    fn get(&mut self, target: &str) -> Received {
        self.send(target);
        let (status, headers) = self.head();
        let mut received = Received {
            status,
            headers,
            body: Vec::new(),
        };
        let length: usize = received.header("content-length").unwrap().parse().unwrap();
        received.body = vec![0; length];
        self.reader.read_exact(&mut received.body).unwrap();
        received
    }
}

fn sandbox(schools: usize, students_per_school: usize) -> Sandbox {
    let config = Config {
        schools,
        students_per_school,
        ..Config::default()
    };
    Sandbox::start(config).unwrap()
}

fn students_path(sandbox: &Sandbox, school: usize, query: &str) -> String {
    format!(
        "/v1.0/schools/{}/students?{query}",
        sandbox.school_ids()[school]
    )
}

/// Every record of every page, following `next` to the end.
fn all_pages(client: &mut Client, first: &str) -> Vec<Value> {
    let mut records = Vec::new();
    let mut target = first.to_string();
    for _ in 0..MAX_PAGES {
        let page = client.get(&target).json();
        records.extend(page["data"].as_array().unwrap().iter().cloned());
        let pagination = &page["meta"]["pagination"];
        assert_eq!(
            pagination["more"].as_bool(),
            Some(!pagination["next"].is_null())
        );
        match pagination["next"].as_str() {
            Some(next) => target = next.to_string(),
            None => return records,
        }
    }
    panic!("more than {MAX_PAGES} pages");
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn following_next_yields_every_student_once() {
    let sandbox = sandbox(2, 120);
    let mut client = Client::new(&sandbox);
    let first = students_path(&sandbox, 1, "per_page=50&include=year");
    let records = all_pages(&mut client, &first);
    let served = ids(&records);
    assert_eq!(served.len(), 120);
    assert_eq!(served.iter().collect::<HashSet<_>>().len(), 120);
    let expected: Vec<String> = sandbox.students(1).into_iter().map(|s| s.id).collect();
    assert_eq!(served, expected);
    // The third page keeps the other parameters and links back.
    let third = client
        .get(&students_path(
            &sandbox,
            1,
            "per_page=50&include=year&page=3",
        ))
        .json();
    let pagination = &third["meta"]["pagination"];
    assert_eq!(third["data"].as_array().unwrap().len(), 20);
    assert_eq!(pagination["current_page"], 3);
    assert_eq!(pagination["per_page"], 50);
    let previous = pagination["previous"].as_str().unwrap();
    assert!(previous.starts_with(&sandbox.base_url()));
    assert!(
        previous.ends_with("students?per_page=50&include=year&page=2"),
        "{previous}"
    );
    assert!(third["data"][0]["year"]["data"]["code"].is_string());
}

#[test]
fn schools_are_listed_with_wonde_types() {
    let sandbox = sandbox(3, 1);
    let mut client = Client::new(&sandbox);
    let schools = all_pages(&mut client, "/v1.0/schools?per_page=2");
    assert_eq!(ids(&schools), sandbox.school_ids());
    let one = client
        .get(&format!("/v1.0/schools/{}", sandbox.school_ids()[2]))
        .json()["data"]
        .clone();
    assert_eq!(one, schools[2]);
    assert!(one["urn"].is_u64());
    assert!(one["la_code"].is_string() && one["establishment_number"].is_string());
    assert_eq!(one["region"]["domain"], "api.wonde.com");
    assert_eq!(client.get("/v1.0/schools/A9999999999").status, 404);
    assert_eq!(client.get("/v1.0/schools/A9999999999/students").status, 404);
}

#[test]
fn includes_appear_only_when_asked() {
    let sandbox = sandbox(1, 3);
    let mut client = Client::new(&sandbox);
    let blocks = [
        "contact_details",
        "education_details",
        "extended_details",
        "year",
        "contacts",
    ];
    let bare = client.get(&students_path(&sandbox, 0, "")).json()["data"][0].clone();
    assert!(blocks.iter().all(|b| bare.get(b).is_none()));
    assert!(bare["gender_identity"].is_null() && bare["restored_at"].is_null());
    assert_eq!(bare["updated_at"]["date"], "2024-07-20 10:23:33.000000");
    assert_eq!(bare["date_of_birth"]["timezone"], "Europe/London");

    let some = client
        .get(&students_path(
            &sandbox,
            0,
            "include=year,contacts.contact_details",
        ))
        .json();
    let student = &some["data"][0];
    assert!(student["year"]["data"]["name"].is_string());
    let carer = &student["contacts"]["data"][0];
    assert_eq!(carer["relationship"]["priority"], 1);
    assert!(carer["contact_details"]["data"]["emails"]["email"]
        .as_str()
        .unwrap()
        .ends_with("@example.com"));
    assert!(student.get("contact_details").is_none() && student.get("education_details").is_none());

    let all = client
        .get(&students_path(
            &sandbox,
            0,
            &format!("include={}", blocks.join(",")),
        ))
        .json();
    let student = &all["data"][0];
    assert!(blocks
        .iter()
        .all(|b| student[b]["data"].is_object() || student[b]["data"].is_array()));
    let home = &student["contact_details"]["data"]["addresses"]["home"];
    assert_eq!(home["country"], "United Kingdom");
    assert!(student["extended_details"]["data"]["free_school_meals"].is_boolean());
}

#[test]
fn updated_after_returns_only_what_changed_since() {
    let sandbox = sandbox(1, 30);
    sandbox.edit(0, 7, |s| s.surname = "Changed".to_string());
    let mut client = Client::new(&sandbox);
    let since_base = students_path(&sandbox, 0, "updated_after=2024-07-20%2010:23:33");
    let changed = all_pages(&mut client, &since_base);
    assert_eq!(ids(&changed), vec![sandbox.student(0, 7).unwrap().id]);
    assert_eq!(changed[0]["surname"], "Changed");
    let before_base = students_path(&sandbox, 0, "updated_after=2024-07-20+10:23:32");
    assert_eq!(all_pages(&mut client, &before_base).len(), 30);
    assert_eq!(
        client
            .get(&students_path(&sandbox, 0, "updated_after=yesterday"))
            .status,
        422
    );
}

#[test]
fn added_pupils_are_listed_and_leavers_are_not_deletions() {
    let sandbox = sandbox(1, 10);
    let added = sandbox.add_pupil(0);
    sandbox.leave(0, 2);
    let mut client = Client::new(&sandbox);
    let listed = ids(&all_pages(&mut client, &students_path(&sandbox, 0, "")));
    assert_eq!(listed.len(), 10);
    assert!(listed.contains(&added.id));
    assert!(sandbox.student(0, 2).is_none());
    let deletions = format!(
        "/v1.0/schools/{}/deletions?type=student",
        sandbox.school_ids()[0]
    );
    let empty = r#"{"data":[],"meta":{"pagination":{"next":null,"previous":null,"more":false,"per_page":50,"current_page":1}}}"#;
    assert_eq!(
        client.get(&deletions).json(),
        serde_json::from_str::<Value>(empty).unwrap()
    );
}

#[test]
fn deletions_list_a_deleted_student() {
    let sandbox = sandbox(2, 10);
    let gone = sandbox.student(1, 4).unwrap();
    sandbox.delete(1, 4);
    let mut client = Client::new(&sandbox);
    let listed = ids(&all_pages(&mut client, &students_path(&sandbox, 1, "")));
    assert!(!listed.contains(&gone.id) && listed.len() == 9);
    let deletions = format!(
        "/v1.0/schools/{}/deletions?type=student",
        sandbox.school_ids()[1]
    );
    let deleted = all_pages(&mut client, &deletions);
    assert_eq!(ids(&deleted), vec![gone.id]);
    assert_eq!(deleted[0]["type"], "student");
    assert_eq!(deleted[0]["deleted_at"]["timezone"], "UTC");
    let later = client
        .get(&format!("{deletions}&updated_after=2099-01-01%2000:00:00"))
        .json();
    assert_eq!(later["data"], Value::Array(Vec::new()));
}

#[test]
fn only_the_token_opens_the_api() {
    let sandbox = sandbox(1, 1);
    for auth in [
        None,
        Some("Bearer wrong".to_string()),
        Some("Token sandbox-token".to_string()),
    ] {
        let refused = Client::with_auth(&sandbox, auth).get("/v1.0/schools");
        assert_eq!(refused.status, 401);
        assert!(refused.json()["error"].is_string());
    }
    // The token as the Basic user name, with an empty password.
    let basic = Some("Basic c2FuZGJveC10b2tlbjo=".to_string());
    assert_eq!(
        Client::with_auth(&sandbox, basic)
            .get("/v1.0/schools")
            .status,
        200
    );
    let authorized: Vec<bool> = sandbox.requests().iter().map(|r| r.authorized).collect();
    assert_eq!(authorized, [false, false, false, true]);
    assert_eq!(
        Client::new(&sandbox)
            .get("/v1.0/schools?per_page=1001")
            .status,
        422
    );
}

#[test]
fn status_faults_fire_after_skip_for_times_on_their_school() {
    let sandbox = sandbox(2, 1);
    let school = sandbox.school_ids()[1].clone();
    sandbox.inject(FaultRule {
        school: Some(school.clone()),
        page: None,
        skip: 1,
        times: 2,
        fault: Fault::Status(503),
    });
    let mut client = Client::new(&sandbox);
    let path = format!("/v1.0/schools/{school}/students");
    let other = students_path(&sandbox, 0, "");
    let statuses: Vec<u16> = [&path, &other, &path, &path, &path]
        .iter()
        .map(|p| client.get(p).status)
        .collect();
    assert_eq!(statuses, [200, 200, 503, 503, 200]);
    let recorded: Vec<Option<Fault>> = sandbox.requests().into_iter().map(|r| r.fault).collect();
    assert_eq!(recorded[2], Some(Fault::Status(503)));
    assert_eq!(recorded[4], None);
}

#[test]
fn too_many_requests_carries_retry_after_only_when_given() {
    let sandbox = sandbox(1, 1);
    let rule = |retry_after_secs| FaultRule {
        school: None,
        page: None,
        skip: 0,
        times: 1,
        fault: Fault::TooMany { retry_after_secs },
    };
    sandbox.inject(rule(Some(7)));
    sandbox.inject(rule(None));
    let mut client = Client::new(&sandbox);
    let with = client.get("/v1.0/schools");
    assert_eq!((with.status, with.header("retry-after")), (429, Some("7")));
    let without = client.get("/v1.0/schools");
    assert_eq!((without.status, without.header("retry-after")), (429, None));
    assert_eq!(client.get("/v1.0/schools").status, 200);
}

#[test]
fn a_slow_answer_does_not_hold_up_other_connections() {
    let sandbox = sandbox(2, 1);
    let delay = Duration::from_millis(1000);
    let slow_school = Some(sandbox.school_ids()[0].clone());
    sandbox.inject(FaultRule {
        school: slow_school,
        page: None,
        skip: 0,
        times: 1,
        fault: Fault::Slow(delay),
    });
    let started = Instant::now();
    let slow_path = students_path(&sandbox, 0, "");
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| Client::new(&sandbox).get(&slow_path));
        // Give the slow request time to arrive first.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            Client::new(&sandbox)
                .get(&students_path(&sandbox, 1, ""))
                .status,
            200
        );
        assert!(
            started.elapsed() < delay,
            "the other school waited for the slow one"
        );
        assert_eq!(slow.join().unwrap().status, 200);
    });
    assert!(started.elapsed() >= delay);
}

#[test]
fn a_truncated_body_is_cut_short_and_the_connection_closed() {
    let sandbox = sandbox(1, 20);
    sandbox.inject(FaultRule {
        school: None,
        page: None,
        skip: 0,
        times: 1,
        fault: Fault::TruncatedBody,
    });
    let mut client = Client::new(&sandbox);
    client.send(&students_path(&sandbox, 0, ""));
    let (status, headers) = client.head();
    assert_eq!(status, 200);
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "Content-Length")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let mut body = Vec::new();
    client.reader.read_to_end(&mut body).unwrap();
    assert_eq!(body.len(), length / 2);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    // The next connection is served whole.
    assert_eq!(
        Client::new(&sandbox)
            .get(&students_path(&sandbox, 0, ""))
            .status,
        200
    );
}

#[test]
fn a_reset_connection_gets_no_answer() {
    let sandbox = sandbox(1, 1);
    sandbox.inject(FaultRule {
        school: None,
        page: None,
        skip: 0,
        times: 1,
        fault: Fault::ConnectionReset,
    });
    let mut client = Client::new(&sandbox);
    client.send("/v1.0/schools");
    let mut received = Vec::new();
    let outcome = client.reader.read_to_end(&mut received);
    assert!(received.is_empty());
    #[cfg(unix)]
    assert_eq!(
        outcome.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionReset
    );
    #[cfg(not(unix))]
    let _ = outcome;
    assert_eq!(sandbox.requests()[0].status, None);
    assert_eq!(Client::new(&sandbox).get("/v1.0/schools").status, 200);
}

#[test]
fn the_same_seed_serves_the_same_data() {
    let includes =
        "include=contact_details,education_details,extended_details,year,contacts&per_page=40";
    let serve = |seed| {
        let config = Config {
            seed,
            schools: 2,
            students_per_school: 40,
            ..Config::default()
        };
        let sandbox = Sandbox::start(config).unwrap();
        let mut client = Client::new(&sandbox);
        client.get(&students_path(&sandbox, 1, includes)).json()["data"].clone()
    };
    assert_eq!(serve(5), serve(5));
    assert_ne!(serve(5), serve(6));
}

#[test]
fn upns_dates_of_birth_and_postcodes_look_real() {
    let sandbox = sandbox(6, 200);
    let mut client = Client::new(&sandbox);
    let mut upns = HashSet::new();
    for school in 0..6 {
        let query = "include=education_details,contact_details&per_page=200";
        for student in client.get(&students_path(&sandbox, school, query)).json()["data"]
            .as_array()
            .unwrap()
        {
            let education = &student["education_details"]["data"];
            let upn = education["upn"].as_str().unwrap();
            assert!(crate::upn::is_valid(upn), "{upn}");
            assert!(upns.insert(upn.to_string()), "duplicate UPN {upn}");
            let year = match education["current_nc_year"].as_str().unwrap() {
                "R" => 0,
                n => n.parse::<i32>().unwrap(),
            };
            let dob = &student["date_of_birth"]["date"].as_str().unwrap()[..10];
            let dob = NaiveDate::parse_from_str(dob, "%Y-%m-%d").unwrap();
            let born_from = NaiveDate::from_ymd_opt(2026 - year - 6, 9, 1).unwrap();
            let born_to = NaiveDate::from_ymd_opt(2026 - year - 5, 8, 31).unwrap();
            assert!((born_from..=born_to).contains(&dob), "{dob} in year {year}");
            let postcode = student["contact_details"]["data"]["addresses"]["home"]["postcode"]
                .as_str()
                .unwrap();
            assert!(is_postcode(postcode), "{postcode}");
        }
    }
}

/// `AA9 9AA` or `AA99 9AA`.
fn is_postcode(postcode: &str) -> bool {
    let Some((outward, inward)) = postcode.split_once(' ') else {
        return false;
    };
    let letters = outward.chars().take_while(char::is_ascii_uppercase).count();
    let digits = &outward[letters..];
    let inward: Vec<char> = inward.chars().collect();
    letters == 2
        && (1..=2).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && inward.len() == 3
        && inward[0].is_ascii_digit()
        && inward[1..].iter().all(char::is_ascii_uppercase)
}

#[test]
fn requests_are_recorded_and_shutdown_closes_the_port() {
    let sandbox = sandbox(1, 1);
    let url = sandbox.base_url();
    Client::new(&sandbox).get("/v1.0/schools?per_page=5");
    let recorded = &sandbox.requests()[0];
    assert_eq!(
        (recorded.method.as_str(), recorded.path.as_str()),
        ("GET", "/v1.0/schools")
    );
    assert_eq!(
        (recorded.query.as_str(), recorded.status),
        ("per_page=5", Some(200))
    );
    let _idle = Client::new(&sandbox);
    sandbox.shutdown();
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(TcpStream::connect(host).is_err());
}

/// Serves 50 schools x 800 students, every include, 200 a page, to one
/// client thread. `cargo test -p b2b-host serve_rate -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn serve_rate() {
    let sandbox = sandbox(50, 800);
    let includes =
        "include=contact_details,education_details,extended_details,year,contacts&per_page=200";
    let mut client = Client::new(&sandbox);
    let started = Instant::now();
    let (mut pages, mut bytes) = (0, 0);
    for school in 0..50 {
        let mut target = Some(students_path(&sandbox, school, includes));
        while let Some(page) = target {
            let body = client.get(&page).body;
            // Only the pagination (serialised last) is parsed, so that the
            // client, unoptimised in a debug build, costs little.
            let meta = body.windows(7).rposition(|w| w == b"\"meta\":").unwrap();
            let meta: Value = serde_json::from_slice(&body[meta + 7..body.len() - 1]).unwrap();
            target = meta["pagination"]["next"].as_str().map(str::to_string);
            (pages, bytes) = (pages + 1, bytes + body.len());
        }
    }
    // 800 students a school fill exactly four pages of 200.
    assert_eq!(pages, 50 * 4);
    let elapsed = started.elapsed();
    println!(
        "served 40000 students in {pages} pages ({} MB) in {elapsed:?}",
        bytes / 1_000_000
    );
}
