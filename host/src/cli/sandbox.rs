//! `b2b wonde-sandbox`: serves made-up schools the way Wonde does, so the
//! import can be tried without a Wonde account.

use crate::error::{Error, Result};
use crate::wonde_sandbox::{Config, Sandbox};
use clap::Args;

/// What to serve and where.
#[derive(Debug, Args)]
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
}

/// Starts the sandbox, says how to point b2b at it, and serves until the
/// process is stopped.
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
    let url = sandbox.base_url();
    println!(
        "Wonde sandbox: {} schools of {} students (seed {}).",
        args.schools, args.students_per_school, args.seed
    );
    println!("Base URL: {url}");
    println!("Token:    {}", sandbox.token());
    println!("Point b2b at it:");
    println!("  b2b defaults set wonde.base_url {url}");
    println!("  export B2B_WONDE_TOKEN={}", sandbox.token());
    println!("Serving until stopped (Ctrl-C).");
    // The sandbox serves from its own threads; this one only keeps it alive.
    loop {
        std::thread::park();
    }
}
