//! The `usagebook` command. It only parses arguments and prints; every
//! behaviour (tracking, recovery, read-only reports) is in `usagebook-core`.

mod demo;
mod table;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "usagebook",
    version,
    about = "Record, persist and report LLM usage",
    long_about = "Record, persist and report LLM usage.\n\n\
        DIR is a tracker's baseDir: its files live in DIR/llm-usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a workload into DIR, restart halfway, and report it
    ///
    /// Records N pseudo-random (seeded) events of three bridges through a
    /// file-backed tracker with persistLogs, closes and reopens it after 60%
    /// of them, checks that every total survived the restart and that the
    /// files hold exactly what was tracked (exit 1 if not), then prints the
    /// table `usagebook report` prints.
    Demo {
        /// Base directory of the tracker (created if missing; existing data
        /// is added to).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// How many usage events to record.
        #[arg(long, value_name = "N", default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        events: u64,
        /// Seed of the pseudo-random workload (the same seed gives the same
        /// events).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Print per-bridge usage of DIR (works while DIR is in use)
    ///
    /// Reads the snapshot, the log and the journal read-only, without taking
    /// the tracker's lock, so it works while an application has DIR open; it
    /// counts what a tracker opened on DIR would count, and writes nothing.
    Report {
        /// Base directory of the tracker.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Print JSON: {"perBridge": {<bridgeId>: stats}, "total": stats}.
        #[arg(long)]
        json: bool,
    },
}

/// What stops a command: a message for stderr, or a closed stdout (a pager
/// or `head` that quit), which is not an error.
pub(crate) enum Failure {
    Message(String),
    ClosedStdout,
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::ClosedStdout
        } else {
            Failure::Message(format!("writing output: {e}"))
        }
    }
}

impl From<usagebook_core::Error> for Failure {
    fn from(e: usagebook_core::Error) -> Self {
        Failure::Message(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let res = match cli.command {
        Command::Demo { dir, events, seed } => demo::run(&mut out, &dir, events, seed),
        Command::Report { dir, json } => report(&mut out, &dir, json),
    };
    let res = res.and_then(|()| out.flush().map_err(Failure::from));
    match res {
        Ok(()) | Err(Failure::ClosedStdout) => ExitCode::SUCCESS,
        Err(Failure::Message(msg)) => {
            eprintln!("usagebook: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn report(out: &mut impl Write, dir: &std::path::Path, json: bool) -> Result<(), Failure> {
    let report = usagebook_core::report::read(dir)?;
    for note in &report.notes {
        eprintln!("usagebook: note: {note}");
    }
    if json {
        let text = serde_json::to_string_pretty(&report.to_json())
            .map_err(|e| Failure::Message(format!("encoding JSON: {e}")))?;
        writeln!(out, "{text}")?;
        if !report.exists {
            eprintln!("usagebook: note: {} does not exist", report.dir.display());
        }
        return Ok(());
    }
    write!(out, "{}", table::render_or_empty(&report))?;
    Ok(())
}
