//! `b2b wonde-sandbox`: serves made-up schools the way Wonde does, so the
//! import can be tried without a Wonde account, and failures rehearsed.

use b2b_host::error::{Error, Result};
use b2b_wonde_sandbox::{Config, FaultRule, Sandbox};
use clap::Args;

/// What to serve and where.
#[derive(Debug, Args)]
#[command(after_help = FAULT_HELP)]
pub struct SandboxArgs {
    /// How many schools (at most 1000).
    #[arg(long, default_value_t = 3)]
    schools: usize,
    /// How many students each school lists (at most 8000).
    #[arg(long, default_value_t = 50)]
    students_per_school: usize,
    /// The same seed always serves the same schools and students.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The port on 127.0.0.1 (0 for any free one).
    #[arg(long, default_value_t = 8650)]
    port: u16,
    /// The API token clients must send.
    #[arg(long, default_value = "sandbox-token")]
    token: String,
    /// Act out a failure, e.g. `status=503,school=2,times=3`; repeat for
    /// more. See "Faults" below.
    #[arg(long = "fault", value_name = "FAULT", value_parser = parse_fault)]
    faults: Vec<FaultRule>,
}

const FAULT_HELP: &str = "\
Faults (--fault, repeatable; the first rule in scope that fires acts):
  status=CODE               answer CODE (400-599) with a JSON error
  status=429,retry-after=S  answer 429 Too Many Requests, asking to wait S seconds
  delay=S                   wait S seconds (or 500ms) before answering normally
  truncate                  send half the body, then close the connection
  reset                     close the connection unanswered (a reset)
  malformed-json            answer 200 with a body that is not JSON
Each takes a scope, separated by commas:
  school=ID                 only this school's requests (its Wonde id, or its number from 1)
  page=N                    only page N of a list (a request without page= is page 1)
  skip=N                    let N requests in scope through first (default 0)
  times=N                   fire N times (default: every time)
Examples:
  b2b wonde-sandbox --schools 30 --fault delay=130,school=3,page=2
  b2b wonde-sandbox --fault status=429,retry-after=120,school=A0000000002,times=2 --fault malformed-json,school=5";

fn parse_fault(spec: &str) -> std::result::Result<FaultRule, String> {
    spec.parse()
}

/// Starts the sandbox, says how to point b2b at it and which faults it acts
/// out, and serves until the process is stopped.
pub fn run(args: &SandboxArgs) -> Result<()> {
    let config = Config {
        schools: args.schools,
        students_per_school: args.students_per_school,
        seed: args.seed,
        token: args.token.clone(),
        port: args.port,
    };
    let sandbox = Sandbox::start(config).map_err(|e| {
        Error::Io(format!(
            "could not start the Wonde sandbox on port {}: {e}",
            args.port
        ))
    })?;
    let ids = sandbox.school_ids();
    let faults = args
        .faults
        .iter()
        .map(|rule| by_id(rule.clone(), &ids))
        .collect::<Result<Vec<_>>>()?;
    let url = sandbox.base_url();
    println!(
        "Wonde sandbox: {} schools of {} students (seed {}).",
        args.schools, args.students_per_school, args.seed
    );
    println!("Base URL: {url}");
    println!("Token:    {}", sandbox.token());
    for rule in faults {
        println!("Fault:    {rule}");
        sandbox.inject(rule);
    }
    println!("Point b2b at it:");
    println!("  b2b import connect {url}");
    println!("  export B2B_WONDE_TOKEN={}", sandbox.token());
    println!("Serving until stopped (Ctrl-C).");
    // The sandbox serves from its own threads; this one only keeps it alive.
    loop {
        std::thread::park();
    }
}

/// The rule with a school given by number turned into that school's id; an
/// unknown school is refused, since the fault would never fire.
fn by_id(mut rule: FaultRule, ids: &[String]) -> Result<FaultRule> {
    let Some(school) = rule.school.take() else {
        return Ok(rule);
    };
    let number = school.parse::<usize>().ok();
    let id = match number {
        Some(n) if (1..=ids.len()).contains(&n) => ids[n - 1].clone(),
        None if ids.contains(&school) => school,
        _ => {
            return Err(Error::invalid(format!(
            "--fault names school `{school}`, which this sandbox does not serve: give a Wonde id \
                 it lists or a number from 1 to {}",
            ids.len()
        )))
        }
    };
    rule.school = Some(id);
    Ok(rule)
}
