//! `deskside-agent`: the Deskside endpoint agent. One module per subcommand; `main` only
//! parses the command line and maps results to exit codes.

mod diagnose;

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
}

fn main() -> ExitCode {
    // Usage errors (unknown section, bad flag) exit with 2 from here, via clap.
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Diagnose(args) => diagnose::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
