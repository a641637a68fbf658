//! The plugin author kit as an LA developer uses it, outside this
//! repository: `b2b plugin new`, `b2b plugin test`, then install and run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn b2b(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_b2b"))
        .args(args)
        .current_dir(dir)
        .env_remove("B2B_DB")
        .env("B2B_CACHE_DIR", repo().join("target/compiled-plugins"))
        .output()
        .expect("b2b runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_new_plugin_made_outside_the_repository_builds_passes_its_test_installs_and_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = b2b(dir, &["plugin", "new", "la-report", "--dir", "plugins"]);
    assert!(out.status.success(), "{}", text(&out));
    let plugin = dir.join("plugins/la-report");
    assert!(
        plugin.join("vendor/b2b-plugin-sdk/src/lib.rs").is_file()
            && plugin.join("wit/b2b.wit").is_file()
    );

    // Built where test runs share the compiled dependencies; a person's
    // `b2b plugin test DIR` builds into DIR/target.
    let target = repo().join("target/wasm-kit");
    let test = |fixture_args: &[&str]| {
        let mut args = vec!["plugin", "test", "plugins/la-report", "--target-dir"];
        args.push(target.to_str().unwrap());
        args.extend(fixture_args);
        b2b(dir, &args)
    };
    let out = test(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ok   plugins/la-report/fixtures/basic.toml"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("1 passed, 0 failed"), "{}", text(&out));

    let broken = dir.join("broken.toml");
    let basic = std::fs::read_to_string(plugin.join("fixtures/basic.toml")).unwrap();
    std::fs::write(&broken, basic.replace("changed = 0", "changed = 1")).unwrap();
    let out = test(&["--fixture", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("report changed\n    expected: 1\n    actual:   0"),
        "{}",
        text(&out)
    );

    // A .wasm beside plugin.toml is what `plugin install DIR` takes.
    std::fs::copy(
        target.join("wasm32-wasip2/release/la_report.wasm"),
        plugin.join("la_report.wasm"),
    )
    .unwrap();
    for args in [
        &["--db", "la.db", "init"][..],
        &[
            "--db",
            "la.db",
            "plugin",
            "install",
            "plugins/la-report",
            "--yes",
        ],
        &["--db", "la.db", "action", "run", "la-report"],
    ] {
        let out = b2b(dir, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    assert!(text(&b2b(dir, &["--db", "la.db", "runs", "list"])).contains("la-report"));
}

#[test]
fn plugin_new_refuses_a_name_that_is_not_an_id_or_is_taken() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, says) in [
        ("My Plugin", "lower-case letters, digits or dashes"),
        ("clear-cache", "the id of a built-in action"),
    ] {
        let out = b2b(tmp.path(), &["plugin", "new", name]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(says), "{}", text(&out));
    }
    assert!(b2b(tmp.path(), &["plugin", "new", "mine"]).status.success());
    let out = b2b(tmp.path(), &["plugin", "new", "mine"]);
    assert!(text(&out).contains("already exists"), "{}", text(&out));
}
