//! The `orgtwin` command line. Each subcommand parses its flags, calls the
//! library, and prints; no access decision is made here.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod simulate;
mod validate;

#[derive(Parser)]
#[command(
    name = "orgtwin",
    version,
    about = "A twin of an AWS organization's identity plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with IAM policy documents.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Evaluate policy unit tests: JSON Lines cases, one per line.
    Simulate {
        /// The case file, or `-` for standard input.
        #[arg(long)]
        cases: PathBuf,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check a policy document the way IAM would, and print each problem
    /// with its line and column.
    Validate {
        /// The policy document (JSON).
        file: PathBuf,
        /// identity, resource, trust, scp, rcp, session or permissions-boundary.
        #[arg(long = "type", default_value = "identity")]
        policy_type: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Policy {
            command: PolicyCommand::Validate { file, policy_type },
        } => validate::run(&file, &policy_type),
        Command::Simulate { cases } => simulate::run(&cases),
    }
}

/// Reads a file, or standard input for `-`.
fn read_input(path: &PathBuf) -> std::io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(std::io::stdin().lock()))
    } else {
        Ok(Box::new(std::io::BufReader::new(std::fs::File::open(
            path,
        )?)))
    }
}

/// Writes a line to standard output; a closed pipe ends the program quietly.
fn emit(out: &mut impl Write, line: &str) -> bool {
    writeln!(out, "{line}").is_ok()
}
