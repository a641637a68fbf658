//! The plugin test harness on real plugins: every built-in action against
//! its fixtures in `tests/fixtures/<id>/`, the example custom action that was
//! written with the kit (`examples/auto-accept-cosmetic`) against its own,
//! and fixtures that do not hold, to see the harness fail as it should.

use b2b_harness::{toml_files, Harness, PluginUnderTest, Verdict};
use b2b_host::plugins::builtin;
use b2b_tests::TestDb;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn harness() -> Harness {
    Harness::with_engine(b2b_tests::engine())
}

fn assert_all_pass(plugin: &PluginUnderTest, fixtures: &[PathBuf]) {
    assert!(!fixtures.is_empty(), "{} has no fixtures", plugin.id());
    let harness = harness();
    let failures: Vec<String> = fixtures
        .iter()
        .filter_map(|f| match harness.run(plugin, f) {
            Ok(verdict) if verdict.passed() => None,
            Ok(verdict) => Some(verdict.to_string()),
            Err(e) => Some(format!("{}: {e}", f.display())),
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_built_in_action_passes_its_fixtures() {
    for b in builtin::all() {
        let id = &b.manifest.id;
        let fixtures = toml_files(&repo().join("tests/fixtures").join(id))
            .unwrap_or_else(|e| panic!("built-in {id} needs fixtures in tests/fixtures/{id}: {e}"));
        assert_all_pass(&PluginUnderTest::find(id, None).unwrap(), &fixtures);
    }
}

#[test]
fn the_example_action_written_with_the_kit_passes_its_fixtures() {
    let dir = repo().join("examples/auto-accept-cosmetic");
    // A target directory of its own under target/, shared by test runs.
    let plugin =
        PluginUnderTest::find(dir.to_str().unwrap(), Some(&repo().join("target/wasm-kit")))
            .unwrap();
    assert_all_pass(&plugin, &plugin.fixtures().unwrap());
}

/// Runs clear-cache against a fixture written by the test.
fn run_clear_cache(fixture: &str) -> b2b_host::error::Result<Verdict> {
    let t = TestDb::new();
    let path = t.dir.path().join("fixture.toml");
    std::fs::write(&path, fixture).unwrap();
    harness().run(&PluginUnderTest::find("clear-cache", None).unwrap(), &path)
}

const OLD_ENTRY: &str = r#"
[[schools]]
id = "A1"

[[cache]]
label = "old"
school = "A1"
age_days = 40
"#;

#[test]
fn a_fixture_that_does_not_hold_lists_each_expectation_expected_vs_actual() {
    let verdict = run_clear_cache(&format!(
        "{OLD_ENTRY}\n[expect]\nchanged = 2\nlog = [\"no such line\"]\n[expect.cache]\nold = \"kept\"\n[expect.counts]\ncache_entries = 1\n"
    ))
    .unwrap();
    assert!(!verdict.passed());
    let shown = verdict.to_string();
    for expected in [
        "FAIL",
        "report changed\n    expected: 2\n    actual:   1",
        "cache entry old\n    expected: kept\n    actual:   deleted",
        "count of import cache entries (cache_entries)\n    expected: 1\n    actual:   0",
        "run log\n    expected: contains \"no such line\"",
        "clear-cache INFO: Cache entries",
    ] {
        assert!(
            shown.contains(expected),
            "missing {expected:?} in:\n{shown}"
        );
    }
}

#[test]
fn a_capability_call_outside_the_grant_fails_the_fixture_with_its_name() {
    let verdict = run_clear_cache(&format!(
        "grant = [\"cache:read\"]\n{OLD_ENTRY}\n[expect]\noutcome = \"failed\"\n"
    ))
    .unwrap();
    assert_eq!(verdict.mismatches.len(), 1, "{verdict}");
    let m = &verdict.mismatches[0];
    assert_eq!(
        (m.what.as_str(), m.expected.as_str(), m.actual.as_str()),
        ("capabilities denied", "none", "cache:delete")
    );
}

#[test]
fn a_fixture_that_cannot_mean_anything_is_an_error_saying_why() {
    let err = run_clear_cache("[expect]\n[expect.cache]\nghost = \"kept\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("names cache entry `ghost`, which the fixture does not seed"),
        "{err}"
    );
    let err = run_clear_cache(&format!(
        "{OLD_ENTRY}\n[expect]\n[expect.counts]\nrows = 1\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no count `rows`; the counts are: schools"),
        "{err}"
    );
    let err = run_clear_cache("[expect]\noutcome = \"fine\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `fine`"), "{err}");
}
