//! The `b2b` command: a thin layer over the host's services (see
//! docs/architecture.md), with the demo and the daemon.

mod commands;
mod demo;

fn main() {
    // Rust ignores SIGPIPE, so `b2b conflicts list | head` would panic on the
    // closed pipe; a command-line tool should simply stop, as others do.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(commands::main());
}
