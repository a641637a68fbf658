//! `b2b demo`: a small LA in a fresh database, and the three maintenance
//! actions run on it, so a newcomer sees what the product does in one command.
//!
//! The data is generated from a fixed seed, so every run tells the same story:
//! some conflicts have gone stale because someone already edited the held
//! record to match (Clear Conflicts clears exactly those), files of many ages
//! including an old queued and processing one (Delete Files leaves those), and
//! cache entries either side of the retention period (Clear Cache).

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::service::{ActionResult, Service};
use crate::storage::{cache, conflicts, files, schools, students};
use crate::time::{self, days};
use crate::upn;
use rusqlite::Connection;
use std::path::Path;

const SCHOOLS: &[(&str, &str, i64, &str)] = &[
    ("A1000000001", "Riverside Primary School", 100_001, "2001"),
    ("A1000000002", "Hillcrest Academy", 100_002, "4002"),
    (
        "A1000000003",
        "St Mary's CofE Primary School",
        100_003,
        "3003",
    ),
    ("A1000000004", "Oakfield High School", 100_004, "4004"),
];
const FORENAMES: &[&str] = &[
    "Oliver", "Amelia", "George", "Isla", "Noah", "Ava", "Arthur", "Mia", "Muhammad", "Ivy", "Leo",
    "Lily", "Harry", "Freya", "Oscar", "Florence", "Archie", "Grace", "Jack", "Sophia", "Aisha",
    "Kacper", "Zara", "Ravi",
];
const SURNAMES: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "Khan", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "O'Brien", "Nowak", "Begum",
];
const STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Mill Lane",
    "Park Avenue",
    "Queens Road",
];
const TOWNS: &[(&str, &str)] = &[
    ("Ashford", "TN23"),
    ("Canterbury", "CT1"),
    ("Maidstone", "ME14"),
    ("Dover", "CT17"),
];
const STUDENTS_PER_SCHOOL: usize = 80;
const GROUPS: &[&str] = &["basic", "identifiers", "address", "education", "extended"];

/// A small deterministic generator (SplitMix64): the demo must tell the same
/// story on every machine, and needs nothing more.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What the seed put in the database.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Seeded {
    /// Schools.
    pub schools: usize,
    /// Students.
    pub students: usize,
    /// Open conflicts.
    pub conflicts: usize,
    /// Of which the held record was since edited to match.
    pub stale_conflicts: usize,
    /// Import files.
    pub files: usize,
    /// Cache entries.
    pub cache_entries: usize,
}

/// Fills an empty database with the demo LA, as of `now`.
pub fn seed(conn: &Connection, now: i64) -> Result<Seeded> {
    let mut rng = Rng(2026);
    let mut seeded = Seeded::default();
    let officer = Actor::named("demo:data-officer");
    for (n, (wonde_id, name, urn, estab)) in SCHOOLS.iter().enumerate() {
        let school_id = schools::insert(
            conn,
            &schools::NewSchool {
                wonde_id: Some(wonde_id),
                name,
                urn: Some(*urn),
                la_code: Some("886"),
                establishment_number: Some(estab),
            },
        )?;
        seeded.schools += 1;
        for i in 0..STUDENTS_PER_SCHOOL {
            let id = seed_student(conn, &mut rng, school_id, n, i, estab)?;
            seeded.students += 1;
            if i % 4 == 0 {
                if let Some(stale) = seed_conflict(conn, &mut rng, id, &officer)? {
                    seeded.conflicts += 1;
                    seeded.stale_conflicts += stale as usize;
                }
            }
            for (g, group) in GROUPS.iter().enumerate() {
                let age = if (i + g) % 2 == 0 { 10 } else { 45 };
                cache::put(
                    conn,
                    school_id,
                    &format!("{wonde_id}-S{i:04}"),
                    group,
                    &format!("{:016x}", rng.next()),
                    now - days(age),
                )?;
                seeded.cache_entries += 1;
            }
        }
        seeded.files += seed_files(conn, school_id, wonde_id, now)?;
    }
    crate::storage::audit::record(
        conn,
        &Actor::system(),
        "demo.seed",
        "database",
        "",
        serde_json::to_value(&seeded).expect("counts serialise"),
    )?;
    Ok(seeded)
}

fn seed_student(
    conn: &Connection,
    rng: &mut Rng,
    school_id: i64,
    school: usize,
    i: usize,
    estab: &str,
) -> Result<i64> {
    let secondary = school % 2 == 1;
    let year = if secondary {
        7 + rng.below(5)
    } else {
        1 + rng.below(6)
    };
    // A pupil in NC year Y turns Y+5 during the 2026/27 school year.
    let birth_year = 2026 - (year as i32 + 5);
    let dob = format!(
        "{birth_year}-{:02}-{:02}",
        1 + rng.below(12),
        1 + rng.below(28)
    );
    let digits = format!("886{estab}{:02}{:03}", (birth_year + 4) % 100, i);
    let upn = format!("{}{digits}", upn::check_letter(&digits).expect("12 digits"));
    let (town, district) = rng.pick(TOWNS);
    let postcode = format!(
        "{district} {}{}{}",
        rng.below(10),
        (b'A' + rng.below(26) as u8) as char,
        (b'A' + rng.below(26) as u8) as char
    );
    let forename = *rng.pick(FORENAMES);
    let surname = *rng.pick(SURNAMES);
    let house = (1 + rng.below(120)).to_string();
    let gender = if rng.below(2) == 0 { "F" } else { "M" };
    let year = year.to_string();
    let fsm = if rng.below(5) == 0 { "true" } else { "false" };
    students::insert(
        conn,
        Some(school_id),
        &[
            ("basic.forename", Some(forename)),
            ("basic.surname", Some(surname)),
            ("basic.legal_forename", Some(forename)),
            ("basic.legal_surname", Some(surname)),
            ("basic.gender", Some(gender)),
            ("basic.date_of_birth", Some(&dob)),
            ("identifiers.upn", Some(&upn)),
            ("address.house", Some(&house)),
            ("address.street", Some(*rng.pick(STREETS))),
            ("address.town", Some(town)),
            ("address.county", Some("Kent")),
            ("address.postcode", Some(&postcode)),
            ("education.nc_year", Some(&year)),
            ("extended.free_school_meals", Some(fsm)),
        ],
    )
}

/// Raises one conflict on a student; half the time someone then edits the
/// held record to the incoming value written differently (case, spacing,
/// date format), which makes the conflict stale. Returns whether it is stale,
/// or `None` when the random change turned out to be no change.
fn seed_conflict(
    conn: &Connection,
    rng: &mut Rng,
    student_id: i64,
    officer: &Actor,
) -> Result<Option<bool>> {
    let student = students::get(conn, student_id)?;
    let held = |key: &str| student.value(key).map(str::to_string);
    let (item, incoming, edited) = match rng.below(4) {
        0 => {
            let surname = format!(
                "{}-{}",
                held("basic.surname").unwrap_or_default(),
                rng.pick(SURNAMES)
            );
            (
                "basic.surname",
                surname.clone(),
                format!("  {}", surname.to_uppercase()),
            )
        }
        1 => {
            let pc = format!("{} {}{}", rng.pick(TOWNS).1, 1 + rng.below(9), "XY");
            (
                "address.postcode",
                pc.clone(),
                pc.replace(' ', "").to_lowercase(),
            )
        }
        2 => {
            let dob = held("basic.date_of_birth").unwrap_or_default();
            let (y, rest) = dob.split_at(4);
            let moved = format!(
                "{y}{}",
                rest.replacen(&rest[1..3], &format!("{:02}", 1 + rng.below(12)), 1)
            );
            let uk = chrono::NaiveDate::parse_from_str(&moved, "%Y-%m-%d")
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_else(|_| moved.clone());
            ("basic.date_of_birth", uk, moved)
        }
        _ => {
            let forename = rng.pick(FORENAMES).to_string();
            ("basic.forename", forename.clone(), forename.to_lowercase())
        }
    };
    let held_value = held(item);
    // The edit must really differ from the held value, or the conflict is not stale but void.
    if held_value.as_deref() == Some(incoming.as_str())
        || held_value.as_deref() == Some(edited.as_str())
    {
        return Ok(None);
    }
    conflicts::raise(
        conn,
        student_id,
        item,
        held_value.as_deref(),
        Some(&incoming),
        None,
    )?;
    let stale = rng.below(2) == 0;
    if stale {
        students::set_item(conn, student_id, item, Some(&edited), officer)?;
    }
    Ok(Some(stale))
}

/// Files of many ages per school, including an old queued one and an old
/// processing one that Delete Files must leave alone.
fn seed_files(conn: &Connection, school_id: i64, wonde_id: &str, now: i64) -> Result<usize> {
    use files::Status::*;
    let ages_and_status = [
        (1, Completed),
        (7, Completed),
        (30, Failed),
        (60, Completed),
        (95, Completed),
        (120, Queued),
        (150, Processing),
        (200, Completed),
        (400, Failed),
    ];
    for (age, status) in ages_and_status {
        let payload = serde_json::json!({
            "school": wonde_id,
            "data": [{"id": format!("{wonde_id}-S0001"), "surname": "Smith", "forename": "Oliver"}],
            "meta": {"pagination": {"next": null, "more": false}}
        });
        files::insert(
            conn,
            Some(school_id),
            now - days(age),
            status,
            1,
            payload.to_string().as_bytes(),
        )?;
    }
    Ok(ages_and_status.len())
}

/// Creates the demo database at `path`, runs the three maintenance actions
/// and prints what each did and what to try next. An existing file is
/// replaced only when an earlier demo made it.
pub fn run(path: &Path) -> Result<()> {
    if path.exists() {
        replace_earlier_demo(path)?;
    }
    let svc = Service::create(path, Actor::cli_user())?;
    let seeded = crate::storage::in_transaction(svc.conn(), |conn| seed(conn, time::now()))?;
    println!("B2B Student demo: {}", path.display());
    println!(
        "  seeded {} schools, {} students, {} open conflicts ({} already stale: the held record was edited to match),\n  \
         {} import files aged 1 to 400 days, {} import cache entries\n",
        seeded.schools, seeded.students, seeded.conflicts, seeded.stale_conflicts, seeded.files, seeded.cache_entries
    );
    for (plugin, what) in [
        ("clear-conflicts", "Clear Conflicts: clears conflicts whose held value now matches the incoming one"),
        ("delete-files", "Delete Files: removes payloads older than files.retention_days, never queued or processing"),
        ("clear-cache", "Clear Cache: flushes cache entries older than cache.retention_days"),
    ] {
        println!("{what}");
        let result = svc.run_action(plugin, &[])?;
        print_outcome(&result)?;
    }
    let db = path.display();
    println!("\nTry next:");
    println!("  b2b --db {db} conflicts list                      the conflicts that still need a person");
    println!("  b2b --db {db} conflicts accept <ID>               take an incoming value into the held record");
    println!("  b2b --db {db} files list                          tombstones keep the history of deleted files");
    println!("  b2b --db {db} runs show 1                         a run's report and captured plugin log");
    println!("  b2b --db {db} action run clear-cache --param all=true");
    println!("  b2b --db {db} defaults set files.retention_days 30");
    Ok(())
}

fn print_outcome(r: &ActionResult) -> Result<()> {
    match &r.outcome {
        Ok(rep) => {
            println!("  -> {}", rep.summary);
            println!(
                "     examined {}, changed {}, skipped {} (run {})",
                rep.examined, rep.changed, rep.skipped, r.run_id
            );
            Ok(())
        }
        Err(e) => Err(Error::ActionFailed(format!(
            "{} failed in the demo: {e}",
            r.plugin_id
        ))),
    }
}

fn replace_earlier_demo(path: &Path) -> Result<()> {
    let conn = Connection::open(path)
        .map_err(|e| Error::Database(format!("cannot open {}: {e}", path.display())))?;
    let is_demo: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM audit WHERE action = 'demo.seed')",
            [],
            |r| r.get(0),
        )
        .unwrap_or(false);
    drop(conn);
    if !is_demo {
        return Err(Error::invalid(format!(
            "{} exists and was not made by `b2b demo`; pass another --db path for the demo",
            path.display()
        )));
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        if Path::new(&file).exists() {
            std::fs::remove_file(&file)?;
        }
    }
    Ok(())
}
