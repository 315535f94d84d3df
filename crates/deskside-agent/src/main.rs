//! `deskside-agent`: the Deskside endpoint agent. One module per subcommand (`diagnose`,
//! `enroll`, `status`, and `daemon` for `run`); `main` only parses the command line, sets up
//! logging and maps results to exit codes. Shared pieces: `state` (the state directory and
//! the credential store), `client` (the server's agent API), `orders` (verify, execute,
//! report), `bridge` (the local socket the user's desktop app talks to), `sharing` (which
//! diagnostics sections the agent may send on its own) and `backoff`.

mod backoff;
mod bridge;
mod client;
mod daemon;
mod diagnose;
mod enroll;
mod orders;
mod sharing;
mod state;
mod status;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "deskside-agent", version, about = "Deskside endpoint agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Take a diagnostics snapshot of this machine and print it.
    Diagnose(diagnose::Args),
    /// Enroll this machine with a Deskside server (once, as root/administrator).
    Enroll(enroll::Args),
    /// Show whether this machine is enrolled, its last contact and the policy in force.
    Status(status::Args),
    /// Run the agent daemon: heartbeats, diagnostics uploads and signed orders.
    Run(daemon::Args),
}

fn main() -> ExitCode {
    // Usage errors (unknown section, bad flag) exit with 2 from here, via clap.
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DESKSIDE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal, plain text for journald and log files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let outcome = match cli.command {
        Command::Diagnose(args) => diagnose::run(args),
        Command::Enroll(args) => enroll::run(args),
        Command::Status(args) => status::run(args),
        Command::Run(args) => daemon::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
