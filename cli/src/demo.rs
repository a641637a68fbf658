//! `b2b demo`: a small LA in a fresh database, a Wonde import from the
//! sandbox server started in this process, and the three maintenance actions,
//! so a newcomer sees what the product does in one command.
//!
//! Everything comes from fixed seeds, so every run tells the same story: the
//! held records partly differ from what the schools send (conflicts), some
//! pupils are new (unmatched, or added where the school's rule says so), an
//! officer then edits some held values to match (stale conflicts that Clear
//! Conflicts clears), files of many ages including an old queued and
//! processing one (Delete Files leaves those), and cache entries either side
//! of the retention period (Clear Cache).

use b2b_host::actor::Actor;
use b2b_host::error::{Error, Result};
use b2b_host::service::{ActionResult, Service};
use b2b_host::storage::{files, schools, students};
use b2b_host::time::{self, days};
use b2b_wonde_sandbox::{held_record, Config, Sandbox};
use rusqlite::Connection;
use std::path::Path;

/// The demo LA: schools and pupils as the sandbox serves them.
const SANDBOX: Config = Config {
    schools: 4,
    students_per_school: 60,
    seed: 2026,
    token: String::new(),
    port: 0,
};
/// Pupils of each school the LA already holds; the rest arrive as new.
const HELD_PER_SCHOOL: usize = 45;
/// The token the in-process sandbox accepts (it is a demo, not a secret).
const DEMO_TOKEN: &str = "demo-sandbox-token";

/// What the seed put in the database.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Seeded {
    /// Schools.
    pub schools: usize,
    /// Held students.
    pub students: usize,
    /// Of which some item differs from what the school will send.
    pub differing: usize,
    /// Import files from earlier transfers.
    pub files: usize,
}

/// Fills an empty database with the LA's held records of the sandbox's
/// pupils (some differing from what the schools will send: a surname, a
/// postcode, a missing UPN) and old import files, as of `now`.
pub fn seed(conn: &Connection, sandbox: &Sandbox, now: i64) -> Result<Seeded> {
    let mut seeded = Seeded::default();
    for (n, wonde_id) in sandbox.school_ids().iter().enumerate() {
        let school = schools::upsert(
            conn,
            &schools::NewSchool {
                wonde_id,
                name: wonde_id,
                ..Default::default()
            },
        )?;
        seeded.schools += 1;
        // The last school adds pupils it cannot match, rather than queueing them.
        if n == SANDBOX.schools - 1 {
            schools::set_add_unmatched(conn, school.id, true)?;
        }
        for k in 0..HELD_PER_SCHOOL {
            let pupil = sandbox
                .student(n, k)
                .expect("the sandbox lists these pupils");
            let mut held = held_record(&pupil);
            let differ =
                |key: &str, value: Option<&str>, held: &mut Vec<(&'static str, Option<String>)>| {
                    held.iter_mut()
                        .find(|(k, _)| *k == key)
                        .expect("a held item")
                        .1 = value.map(str::to_string);
                };
            match k % 10 {
                0 => differ("basic.surname", Some("Ashworth-Bell"), &mut held),
                1 => differ("address.postcode", Some("CT99 9ZZ"), &mut held),
                2 => differ("identifiers.upn", None, &mut held),
                _ => {}
            }
            seeded.differing += (k % 10 < 3) as usize;
            let values: Vec<(&str, Option<&str>)> =
                held.iter().map(|(k, v)| (*k, v.as_deref())).collect();
            students::insert(conn, Some(school.id), &values)?;
            seeded.students += 1;
        }
        seeded.files += seed_files(conn, school.id, wonde_id, now)?;
    }
    b2b_host::storage::audit::record(
        conn,
        &Actor::system(),
        "demo.seed",
        "database",
        "",
        serde_json::to_value(&seeded).expect("counts serialise"),
    )?;
    Ok(seeded)
}

/// After the import: an officer has since edited some held postcodes to what
/// the school sent (written differently), so those conflicts are stale; and
/// half the cache dates from an import 45 days ago.
fn age_the_data(conn: &Connection, now: i64, officer: &Actor) -> Result<usize> {
    let stale: Vec<(i64, i64, Option<String>)> = {
        let mut stmt = conn.prepare(
            "SELECT id, student_id, incoming_value FROM conflicts WHERE status = 'open' AND item = 'address.postcode' AND id % 2 = 0",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (_, student, incoming) in &stale {
        let written_differently = incoming
            .as_deref()
            .map(|p| p.replace(' ', "").to_lowercase());
        students::set_item(
            conn,
            *student,
            "address.postcode",
            written_differently.as_deref(),
            officer,
        )?;
    }
    conn.execute(
        "UPDATE import_cache SET imported_at = ? WHERE id % 2 = 0",
        [now - days(45)],
    )?;
    Ok(stale.len())
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

/// Creates the demo database at `path`, starts the Wonde sandbox in this
/// process, imports from it, runs the three maintenance actions and prints
/// what each did and what to try next. An existing file is replaced only
/// when an earlier demo made it.
pub fn run(path: &Path) -> Result<()> {
    if path.exists() {
        replace_earlier_demo(path)?;
    }
    let sandbox = Sandbox::start(Config {
        token: DEMO_TOKEN.into(),
        ..SANDBOX
    })
    .map_err(|e| {
        Error::Io(format!(
            "the Wonde sandbox could not start on 127.0.0.1: {e}"
        ))
    })?;
    let svc = Service::create(path, Actor::cli_user())?;
    let now = time::now();
    let seeded = b2b_host::storage::in_transaction(svc.conn(), |conn| seed(conn, &sandbox, now))?;
    println!("B2B Student demo: {}", path.display());
    println!(
        "  the LA holds {} students of {} schools ({} differ from what their school will send), and {} old import files",
        seeded.students, seeded.schools, seeded.differing, seeded.files
    );
    println!(
        "  a Wonde sandbox serves {} schools of {} pupils at {}\n",
        SANDBOX.schools,
        SANDBOX.students_per_school,
        sandbox.base_url()
    );

    svc.point_wonde_at(&sandbox.base_url(), Some(DEMO_TOKEN))?;
    println!(
        "Wonde Import: fetches every approved school, matches, applies the rules, raises conflicts"
    );
    print_outcome(&svc.import(&[], false)?)?;
    let stale = b2b_host::storage::in_transaction(svc.conn(), |conn| {
        age_the_data(conn, now, &Actor::named("demo:data-officer"))
    })?;
    println!("  (then an officer edits {stale} held postcodes to match, writing them differently; time passes)\n");

    for (plugin, what) in [
        ("clear-conflicts", "Clear Conflicts: clears conflicts whose held value now matches the incoming one"),
        ("delete-files", "Delete Files: removes payloads older than files.retention_days, never queued or processing"),
        ("clear-cache", "Clear Cache: flushes cache entries older than cache.retention_days"),
    ] {
        println!("{what}");
        print_outcome(&svc.run_action(plugin, &[])?)?;
    }
    println!("\nScheduled tasks, as an LA sets them up (`b2b serve` runs them):");
    for task in schedule_examples(&svc)? {
        let next = task
            .schedule
            .iter()
            .filter_map(|(_, n)| *n)
            .min()
            .map(time::display)
            .unwrap_or_default();
        let when: Vec<String> = task
            .definition
            .triggers
            .iter()
            .map(|t| t.describe(&task.definition.time_zone))
            .collect();
        println!(
            "  {:<16} {}; next {next}",
            task.definition.name,
            when.join("; ")
        );
    }
    let db = path.display();
    println!("\nTry next:");
    println!("  b2b --db {db} conflicts list                      the conflicts that still need a person");
    println!("  b2b --db {db} conflicts accept <ID>               take an incoming value into the held record");
    println!(
        "  b2b --db {db} import unmatched list               incoming pupils no rule could match"
    );
    println!("  b2b --db {db} import files list                   each school's transfer; deleted ones stay as tombstones");
    println!("  b2b --db {db} runs show 1                         a run's report and captured plugin log");
    println!(
        "  b2b --db {db} task next 1 --count 5               when the nightly import runs next"
    );
    println!(
        "  b2b --db {db} rules set address always_import     change how incoming data is applied"
    );
    println!(
        "  b2b wonde-sandbox                                 a sandbox of your own to import from"
    );
    Ok(())
}

/// The LA's usual schedule: a nightly import, then the maintenance actions.
fn schedule_examples(svc: &Service) -> Result<Vec<b2b_host::storage::tasks::Task>> {
    const EXAMPLES: &str = r#"
        [[task]]
        name = "Nightly import"
        description = "Bring in every school's changes overnight."
        catch_up = true
        triggers = [{ kind = "daily", at = "01:30" }]
        actions = [{ plugin = "wonde-import" }]

        [[task]]
        name = "Clear conflicts"
        description = "Clear the conflicts that resolved themselves, after the import."
        triggers = [{ kind = "daily", at = "06:00" }]
        actions = [{ plugin = "clear-conflicts" }]

        [[task]]
        name = "Delete files"
        triggers = [{ kind = "weekly", weekdays = ["Sun"], at = "03:00" }]
        actions = [{ plugin = "delete-files" }]

        [[task]]
        name = "Clear cache"
        triggers = [{ kind = "monthly_weekday", weeks = ["first"], weekdays = ["Sun"], at = "04:00" }]
        actions = [{ plugin = "clear-cache" }]
    "#;
    #[derive(serde::Deserialize)]
    struct Examples {
        task: Vec<b2b_host::storage::tasks::TaskDefinition>,
    }
    let examples: Examples = toml::from_str(EXAMPLES).expect("the examples parse");
    examples
        .task
        .iter()
        .map(|def| svc.create_task(def))
        .collect()
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
