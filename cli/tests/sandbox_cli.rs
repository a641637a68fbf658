//! `b2b wonde-sandbox` as a process, with faults given on its command line,
//! imported from by the real wonde-import plugin.

use b2b_host::actor::Actor;
use b2b_host::service::Service;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The sandbox process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn b2b() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_b2b"));
    cmd.env(
        "B2B_CACHE_DIR",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/compiled-plugins"),
    );
    cmd
}

/// Starts the sandbox with `args` and returns it with what it printed up to
/// "Serving until stopped".
fn sandbox(args: &[&str]) -> (Running, Vec<String>) {
    let mut child = b2b()
        .args(["wonde-sandbox", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("b2b wonde-sandbox starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = Vec::new();
    // At most a few dozen lines are printed before serving starts.
    for line in BufReader::new(stdout).lines().take(50) {
        let line = line.unwrap();
        let done = line.starts_with("Serving until stopped");
        lines.push(line);
        if done {
            return (running, lines);
        }
    }
    panic!("the sandbox never said it was serving: {lines:?}");
}

fn field<'a>(lines: &'a [String], name: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} line in {lines:?}"))
        .trim()
}

#[test]
fn faults_on_the_command_line_fail_their_schools_with_reasons_a_person_can_act_on() {
    let (_sandbox, lines) = sandbox(&[
        "--schools",
        "4",
        "--students-per-school",
        "5",
        "--fault",
        "status=429,retry-after=120,school=2",
        "--fault",
        "malformed-json,school=3,page=1",
        "--fault",
        "status=503,school=4,times=1",
    ]);
    let faults: Vec<&String> = lines.iter().filter(|l| l.starts_with("Fault:")).collect();
    assert_eq!(faults.len(), 3, "{lines:?}");
    assert!(
        faults[0].contains("answer 429 with Retry-After: 120 for school A"),
        "{faults:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::create(&dir.path().join("la.db"), Actor::named("test")).unwrap();
    svc.point_wonde_at(field(&lines, "Base URL:"), Some(field(&lines, "Token:")))
        .unwrap();

    let result = svc.import(&[], false).unwrap();
    let log = result.log.clone();
    // Sandbox schools are numbered A0000000001 on, in order.
    let error = |school: usize| -> String {
        let files = svc.files(Some(&format!("A{school:010}")), 10).unwrap();
        let [file] = &files[..] else {
            panic!("school {school} has {} files: {log}", files.len());
        };
        format!(
            "{:?} {}",
            file.status,
            file.error_log.clone().unwrap_or_default()
        )
    };
    assert_eq!(error(1), "Completed ", "{log}");
    let too_long = error(2);
    assert!(
        too_long.starts_with("Failed") && too_long.contains("Retry-After"),
        "{too_long}"
    );
    let malformed = error(3);
    assert!(
        malformed.starts_with("Failed") && malformed.contains("was not valid JSON"),
        "{malformed}"
    );
    assert_eq!(error(4), "Completed ", "one 503 is retried: {log}");
}

#[test]
fn a_fault_it_cannot_act_out_is_refused_saying_what_it_takes() {
    let out = b2b()
        .args(["wonde-sandbox", "--port", "0", "--fault", "status=200"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not an error status"), "{stderr}");

    let out = b2b()
        .args(["wonde-sandbox", "--port", "0", "--schools", "2"])
        .args(["--fault", "reset,school=9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a number from 1 to 2"), "{stderr}");

    let help = b2b().args(["wonde-sandbox", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for fault in [
        "retry-after=S",
        "delay=S",
        "truncate",
        "reset",
        "malformed-json",
        "page=N",
    ] {
        assert!(help.contains(fault), "--help names {fault}: {help}");
    }
}
