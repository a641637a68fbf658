//! The database file: migrations, refusal of a newer schema, System Defaults.

use b2b_host::actor::Actor;
use b2b_host::service::Service;
use b2b_host::storage::{defaults::Value, migrations, Db};
use b2b_tests::TestDb;

#[test]
fn a_database_newer_than_this_binary_is_refused_untouched() {
    let t = TestDb::new();
    let path = t.svc.db().path().to_path_buf();
    t.conn()
        .pragma_update(None, "user_version", migrations::CURRENT + 1)
        .unwrap();
    let err = Service::open(&path, Actor::named("test"))
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("newer than this b2b understands"), "{err}");
    let version: i64 = t
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, migrations::CURRENT + 1, "left as it was");
}

#[test]
fn opening_again_keeps_the_data_and_the_schema_version() {
    let t = TestDb::new();
    t.svc.set_default("cache.retention_days", "7").unwrap();
    let again = Db::open(t.svc.db().path()).unwrap();
    let conn = again.connect().unwrap();
    assert_eq!(migrations::version(&conn).unwrap(), migrations::CURRENT);
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(
        t.svc.default_value("cache.retention_days").unwrap(),
        Value::Integer(7)
    );
}

#[test]
fn opening_a_missing_database_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = Service::open(&dir.path().join("none.db"), Actor::named("test"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("b2b init"), "{err}");
    assert!(
        !dir.path().join("none.db").exists(),
        "nothing is created by a mistyped path"
    );
}

#[test]
fn a_bad_default_is_refused_with_what_is_allowed_and_nothing_changes() {
    let t = TestDb::new();
    for (key, value, says) in [
        ("files.retention_days", "-1", "from 0 to 36500"),
        ("files.retention_days", "ninety", "whole number"),
        ("match.guid", "perhaps", "true or false"),
        ("wonde.base_url", "api.wonde.com", "https://"),
        (
            "files.retention",
            "9",
            "the settings are: files.retention_days",
        ),
    ] {
        let err = t.svc.set_default(key, value).unwrap_err().to_string();
        assert!(err.contains(says), "{key}={value}: {err}");
    }
    assert_eq!(t.count("system_defaults", "1"), 0);
    assert_eq!(t.count("audit", "action = 'defaults.set'"), 0);
    t.svc.set_default("match.guid", "false").unwrap();
    assert_eq!(
        t.count(
            "audit",
            "action = 'defaults.set' AND actor = 'test:officer'"
        ),
        1
    );
}

#[test]
fn a_gzip_payload_written_before_zstd_is_still_read_and_deleted() {
    use b2b_host::storage::files;
    use std::io::Write;
    let t = TestDb::new();
    let sent = br#"{"data": [{"id": "A1"}]}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(sent).unwrap();
    let gz = gz.finish().unwrap();
    let conn = t.conn();
    // As a file of an LA database written by an earlier b2b holds it.
    conn.execute(
        "INSERT INTO import_files (received_at, status, record_count, payload, payload_bytes)
         VALUES (1, 'completed', 1, ?, ?)",
        rusqlite::params![gz, gz.len() as i64],
    )
    .unwrap();
    let old = conn.last_insert_rowid();
    let new = files::insert(&conn, None, 2, files::Status::Completed, 1, sent).unwrap();
    assert_eq!(
        files::payload(&conn, old).unwrap().as_deref(),
        Some(&sent[..])
    );
    assert_eq!(
        files::payload(&conn, new).unwrap().as_deref(),
        Some(&sent[..])
    );

    let deleted = files::delete_payloads(&conn, &[old], &Actor::named("test")).unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(files::payload(&conn, old).unwrap(), None);
    assert_eq!(
        files::payload(&conn, new).unwrap().as_deref(),
        Some(&sent[..]),
        "the newer file keeps its own"
    );
}
