//! The `usagebook` command. It only parses arguments and prints; every
//! behaviour (tracking, recovery, reports, imports, exports) is in
//! `usagebook-core`.

mod demo;
mod metrics;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use usagebook_core::export::ExportFormat;
use usagebook_core::import::ImportFormat;
use usagebook_core::report::grouped::{self, GroupBy, Query};
use usagebook_core::report::render::{self, OutputFormat};
use usagebook_core::report::zone::{self, Zone};

#[derive(Parser)]
#[command(
    name = "usagebook",
    version,
    about = "Record, persist and report LLM usage",
    long_about = "Record, persist and report LLM usage.\n\n\
        DIR is a tracker's baseDir: its files live in DIR/llm-usage. An event \
        log is a JSON-lines file of usage events (see docs/cli.md)."
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
    /// table `usagebook report --dir DIR` prints.
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
        /// Also write the events into this device's segments of the git
        /// repository DIR (the tracker's gitSync option) and sync it at
        /// each close (docs/git-sync.md).
        #[arg(long, value_name = "DIR")]
        git_repo: Option<PathBuf>,
        /// The remote the --git-repo is cloned from and pushed to.
        #[arg(long, value_name = "URL", requires = "git_repo")]
        git_remote: Option<String>,
    },
    /// Report usage per day, month, bridge, model or provider
    ///
    /// Reads a tracker directory (--dir, read-only and without its lock, so
    /// it works while an application has it open), an event log (--log; a
    /// missing file is an empty report), or the ledger database (--db).
    /// Rows give requests, errors, tokens by kind (cache reads and writes
    /// too) and cost: an event's own cost_usd, else priced from its model
    /// and tokens with the bundled LiteLLM prices (or --prices); requests
    /// of unknown cost are counted per row. A TOTAL row ends the table.
    /// Blank, malformed and duplicate lines are skipped and counted. See
    /// docs/cli.md.
    #[command(group(clap::ArgGroup::new("store").required(true).args(["dir", "log", "db", "git"])))]
    Report {
        #[command(flatten)]
        store: StoreArgs,
        /// Rows: day, month, bridge, model, provider; or subject (an event
        /// log's records, seed 004).
        #[arg(long, value_name = "KEY", default_value = "bridge")]
        by: String,
        #[command(flatten)]
        window: WindowArgs,
        /// table (fits 80 columns), json, or csv.
        #[arg(long, value_name = "FORMAT", default_value = "table")]
        format: String,
        /// The same as --format json.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// A price file in LiteLLM's model_prices_and_context_window.json
        /// format, over the bundled one: prices the requests of an event
        /// log that carry no cost of their own.
        #[arg(long, value_name = "FILE")]
        prices: Option<PathBuf>,
    },
    /// Import usage recorded by another tool into an event log
    ///
    /// FORMAT is one of: events (usagebook / seed 004 events.jsonl),
    /// tracker-log (LlmBridgeUsageLog JSON lines, a tracker's
    /// usage-logs.jsonl), cliproxy (CLIProxyAPI usage export, version 0 or
    /// 1), claude-code (Claude Code session logs: FILE is a directory such
    /// as ~/.claude/projects, read recursively for *.jsonl, deduplicated
    /// as ccusage does). PATH is an event log file, created if missing;
    /// importing the same data again adds nothing. An import in which
    /// every line is malformed fails and writes nothing. Read it with
    /// `usagebook report --log PATH`.
    Import {
        /// The format of FILE.
        #[arg(long, value_name = "FORMAT")]
        from: String,
        /// The file to import (for claude-code, a directory).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The event log to add the events to.
        #[arg(long, value_name = "PATH")]
        into: PathBuf,
    },
    /// Print (or serve on /metrics) the Prometheus exposition of a store
    ///
    /// The text exposition format 0.0.4 of a tracker directory's totals
    /// (--dir, read-only, while its owner runs) or of a ledger database's
    /// (--db: requests, tokens by type, errors, spend, today's spend per
    /// scope, open holds, remaining budget with --daily-budget-usd). Every
    /// process reading the same database shows the same totals. --listen
    /// ADDR serves GET /metrics instead of printing. See docs/telemetry.md.
    #[command(group(clap::ArgGroup::new("store").required(true).args(["dir", "db"])))]
    Metrics {
        /// A tracker's base directory (its files are in DIR/llm-usage).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The ledger's SQLite database.
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Serve http://ADDR/metrics (e.g. 127.0.0.1:9464) until killed.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Bridges, or provider/model pairs, with their own series (by
        /// lifetime requests); the rest are summed under "_other".
        #[arg(long, value_name = "N", default_value_t = 50,
              value_parser = clap::value_parser!(u64).range(1..=10_000))]
        top: u64,
        /// The ledger's daily budget, for usagebook_ledger_budget_remaining_usd.
        #[arg(long, value_name = "USD")]
        daily_budget_usd: Option<f64>,
        /// The IANA time zone of the ledger's days (as the ledger's
        /// timezone option): UTC, Europe/Berlin.
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        tz: String,
        /// "Now" in epoch milliseconds (for reproducible output in tests).
        #[arg(long, value_name = "MS", hide = true)]
        now_ms: Option<i64>,
    },
    /// Sync usage across devices through a git repository
    ///
    /// `sync git` commits this device's segments, fetches, merges onto the
    /// remote branch and pushes without force (once, or every --interval);
    /// `sync status` tells what the repository holds, without the network.
    /// See docs/git-sync.md.
    Sync {
        #[command(subcommand)]
        what: SyncCommand,
    },
    /// Export events: jsonl, csv, tracker-log or cliproxy
    ///
    /// From an event log (--log) or the retained logs of a tracker
    /// directory (--dir, its usage-logs.jsonl). Writes to stdout, or to
    /// --out FILE.
    #[command(group(clap::ArgGroup::new("store").required(true).args(["dir", "log", "db", "git"])))]
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// jsonl, csv, tracker-log, or cliproxy.
        #[arg(long, value_name = "FORMAT")]
        format: String,
        #[command(flatten)]
        window: WindowArgs,
        /// Write here instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Commit this device's files, fetch, merge, push (never forced)
    Git {
        /// The repository's working tree (cloned from --remote, or
        /// initialised, if it does not exist).
        #[arg(long, value_name = "DIR")]
        repo: PathBuf,
        /// The remote to clone from and push to (origin).
        #[arg(long, value_name = "URL")]
        remote: Option<String>,
        #[arg(long, default_value = "main")]
        branch: String,
        /// The gitSync `path`: its directory holds the devices' files.
        #[arg(long, value_name = "PATH", default_value = "usage/usage.json")]
        path: String,
        /// Sync as the device of this tracker directory (its id is kept in
        /// DIR/llm-usage/git-device-id).
        #[arg(long, value_name = "DIR", conflicts_with = "device_file")]
        dir: Option<PathBuf>,
        /// Where this device's id is kept (generated once); default
        /// $XDG_STATE_HOME/usagebook/git-device-id (~/.local/state/...).
        #[arg(long, value_name = "FILE")]
        device_file: Option<PathBuf>,
        /// One sync, then exit (the default).
        #[arg(long, conflicts_with = "interval")]
        once: bool,
        /// Sync every DURATION (30s, 15m, 1h) until killed.
        #[arg(long, value_name = "DURATION")]
        interval: Option<String>,
    },
    /// What the repository holds and how its branch stands (no network)
    Status {
        #[arg(long, value_name = "DIR")]
        repo: PathBuf,
        #[arg(long, default_value = "main")]
        branch: String,
        #[arg(long, value_name = "PATH", default_value = "usage/usage.json")]
        path: String,
    },
}

#[derive(clap::Args)]
struct StoreArgs {
    /// A tracker's base directory (its files are in DIR/llm-usage).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// An event log file (JSON lines).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// The ledger's SQLite database (commits, settled cost).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// A git sync repository's working tree: the merged usage of every
    /// device in it, deduplicated by event id (docs/git-sync.md).
    #[arg(long, value_name = "DIR")]
    git: Option<PathBuf>,
    /// With --git: the gitSync `path` whose directory holds the devices.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "usage/usage.json",
        requires = "git"
    )]
    git_path: String,
}

#[derive(clap::Args)]
struct WindowArgs {
    /// From this date on: YYYY-MM-DD or YYYY-MM (in --tz), or an RFC 3339
    /// time.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Up to and including this date (YYYY-MM-DD, YYYY-MM), or before this
    /// RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Time zone of days, months and dates: UTC, +09:00, Europe/Berlin.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    tz: String,
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
        Command::Demo {
            dir,
            events,
            seed,
            git_repo,
            git_remote,
        } => {
            let git = git_repo.map(|repo| {
                let mut c = usagebook_core::gitsync::GitSyncConfig::new(repo);
                c.remote = git_remote;
                c.sync_interval = std::time::Duration::ZERO;
                c
            });
            demo::run(&mut out, &dir, events, seed, git)
        }
        Command::Report {
            store,
            by,
            window,
            format,
            json,
            prices,
        } => report(
            &mut out,
            &store,
            &by,
            &window,
            if json { "json" } else { &format },
            prices.as_deref(),
        ),
        Command::Import { from, file, into } => import(&mut out, &from, &file, &into),
        Command::Export {
            store,
            format,
            window,
            out: file,
        } => export(&mut out, &store, &format, &window, file.as_deref()),
        Command::Sync { what } => sync_cmd(&mut out, what),
        Command::Metrics {
            dir,
            db,
            listen,
            top,
            daily_budget_usd,
            tz,
            now_ms,
        } => metrics_cmd(&mut out, dir, db, listen, top, daily_budget_usd, tz, now_ms),
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

#[allow(clippy::too_many_arguments)]
fn metrics_cmd(
    out: &mut impl Write,
    dir: Option<PathBuf>,
    db: Option<PathBuf>,
    listen: Option<String>,
    top: u64,
    daily_budget_usd: Option<f64>,
    tz: String,
    now_ms: Option<i64>,
) -> Result<(), Failure> {
    let daily_budget_nusd = daily_budget_usd
        .map(|b| {
            usagebook_core::ledger::money::usd_to_nano(b, "--daily-budget-usd")
                .map_err(Failure::from)
        })
        .transpose()?;
    let opts = usagebook_core::telemetry::MetricsOptions {
        top: top as usize,
        daily_budget_nusd,
        timezone: tz,
    };
    opts.validate()?;
    let src = metrics::Source::new(dir, db);
    match listen {
        Some(addr) => metrics::serve(&addr, src, &opts, now_ms),
        None => metrics::print(out, src, &opts, now_ms),
    }
}

fn note(text: &str) {
    eprintln!("usagebook: note: {text}");
}

/// The zone and the `[since, until)` window of the arguments.
fn window(w: &WindowArgs) -> Result<(Zone, Option<i64>, Option<i64>), Failure> {
    let zone = Zone::parse(&w.tz)?;
    let since = w
        .since
        .as_deref()
        .map(|s| zone::parse_bound(s, &zone, false))
        .transpose()?;
    let until = w
        .until
        .as_deref()
        .map(|s| zone::parse_bound(s, &zone, true))
        .transpose()?;
    Ok((zone, since, until))
}

fn report(
    out: &mut impl Write,
    store: &StoreArgs,
    by: &str,
    w: &WindowArgs,
    format: &str,
    prices: Option<&Path>,
) -> Result<(), Failure> {
    let format = OutputFormat::parse(format)?;
    let (zone, since_ns, until_ns) = window(w)?;
    if prices.is_some() && store.log.is_none() && store.git.is_none() {
        return Err(Failure::Message(
            "--prices prices the requests of an event log (--log): a tracker directory records no models, and the ledger settles its own costs".into(),
        ));
    }
    if by == "subject" {
        let Some(log) = &store.log else {
            return Err(Failure::Message(
                "--by subject reads an event log: use --log FILE".into(),
            ));
        };
        let r = usagebook_core::eventlog::subject::from_log(log, since_ns, until_ns)?;
        if format == OutputFormat::Csv {
            r.notes.iter().for_each(|n| note(n));
        }
        write!(
            out,
            "{}",
            render::subjects(&r.records, &r.lines, &r.notes, zone, format)
        )?;
        return Ok(());
    }
    let by = if by == "device" {
        if store.git.is_none() {
            return Err(Failure::Message(
                "--by device reads a git sync repository: use --git DIR".into(),
            ));
        }
        GroupBy::Device
    } else {
        GroupBy::parse(by)?
    };
    let query = Query {
        by,
        since_ns,
        until_ns,
        zone,
    };
    let prices = match prices {
        Some(file) => grouped::Prices::bundled_with_file(file)?,
        None => grouped::Prices::bundled(),
    };
    let report = match (&store.dir, &store.log, &store.db, &store.git) {
        (Some(dir), _, _, _) => grouped::from_dir_priced(dir, &query, &prices)?,
        (_, Some(log), _, _) => grouped::from_log_priced(log, &query, &prices)?,
        (_, _, Some(db), _) => grouped::from_db(db, &query)?,
        (_, _, _, Some(repo)) => {
            let root = usagebook_core::gitsync::usage_root_of(&store.git_path)?;
            usagebook_core::gitsync::merged::report(repo, &root, &query, &prices)?
        }
        _ => unreachable!("clap requires one store"),
    };
    if format == OutputFormat::Csv {
        report.notes.iter().for_each(|n| note(n));
        if !report.exists {
            note(&format!("{} does not exist", report.path.display()));
        }
    }
    write!(out, "{}", render::grouped(&report, format))?;
    Ok(())
}

fn import(out: &mut impl Write, from: &str, file: &Path, into: &Path) -> Result<(), Failure> {
    let format = ImportFormat::parse(from)?;
    let summary = usagebook_core::import::import(format, file, into)?;
    writeln!(
        out,
        "imported {} into {}: {}",
        file.display(),
        into.display(),
        summary.describe()
    )?;
    Ok(())
}

fn export(
    out: &mut impl Write,
    store: &StoreArgs,
    format: &str,
    w: &WindowArgs,
    file: Option<&Path>,
) -> Result<(), Failure> {
    let format = ExportFormat::parse(format)?;
    let (zone, since_ns, until_ns) = window(w)?;
    let (mut events, counts) = match (&store.dir, &store.log, &store.db) {
        _ if store.git.is_some() => {
            let repo = store.git.as_ref().expect("checked");
            let root = usagebook_core::gitsync::usage_root_of(&store.git_path)?;
            let view = usagebook_core::gitsync::merged::read(repo, &root)?;
            (view.events, view.counts)
        }
        (Some(dir), _, _) => {
            note("from a tracker directory only its retained logs (usage-logs.jsonl, written with persistLogs) are exported; older history is kept as hourly totals only");
            usagebook_core::import::tracker_dir_events(dir)?
        }
        (_, Some(log), _) => {
            let r = usagebook_core::eventlog::read_events(log)?;
            if !r.exists {
                note(&format!("{} does not exist", log.display()));
            }
            (r.events, r.counts)
        }
        (_, _, Some(_)) => {
            return Err(Failure::Message(
                "export reads an event log (--log) or a tracker directory (--dir); the ledger database is reported with `usagebook report --db`".into(),
            ))
        }
        _ => unreachable!("clap requires one store"),
    };
    counts.notes().iter().for_each(|n| note(n));
    events.retain(|e| {
        since_ns.is_none_or(|s| e.occurred_at_ns >= s)
            && until_ns.is_none_or(|u| e.occurred_at_ns < u)
    });
    let left_out = usagebook_core::export::left_out(&events, format);
    if left_out > 0 {
        note(&format!(
            "left out {left_out} non-request event(s): this format holds requests only"
        ));
    }
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let text = usagebook_core::export::export(&events, format, zone, now_ns);
    match file {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| Failure::Message(format!("writing {}: {e}", path.display())))?;
            note(&format!(
                "exported {} event(s) to {}",
                events.len() as u64 - left_out,
                path.display()
            ));
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

fn device_file(dir: Option<&Path>, file: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(f) = file {
        return Ok(f.to_path_buf());
    }
    if let Some(d) = dir {
        return Ok(d.join("llm-usage").join("git-device-id"));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .ok_or_else(|| {
            Failure::Message(
                "no HOME or XDG_STATE_HOME to keep this device's id in: use --device-file FILE"
                    .into(),
            )
        })?;
    Ok(state.join("usagebook").join("git-device-id"))
}

fn sync_cmd(out: &mut impl Write, what: SyncCommand) -> Result<(), Failure> {
    use usagebook_core::gitsync::{self, GitSync, GitSyncConfig};
    match what {
        SyncCommand::Git {
            repo,
            remote,
            branch,
            path,
            dir,
            device_file: file,
            once: _,
            interval,
        } => {
            let mut cfg = GitSyncConfig::new(&repo);
            cfg.remote = remote;
            cfg.branch = branch;
            cfg.path = path;
            let every = interval
                .as_deref()
                .map(|i| gitsync::parse_duration(i, "--interval"))
                .transpose()?;
            cfg.sync_interval = every.unwrap_or_default();
            let id_file = device_file(dir.as_deref(), file.as_deref())?;
            let sync = GitSync::open(cfg, &id_file)?;
            loop {
                let r = sync.sync(Some(std::time::Duration::from_secs(300)))?;
                let mut j = r.to_json();
                if let Some(o) = j.as_object_mut() {
                    o.insert("device".into(), sync.device.clone().into());
                }
                writeln!(out, "{j}")?;
                out.flush()?;
                match every {
                    Some(d) if !d.is_zero() => std::thread::sleep(d),
                    _ => return Ok(()),
                }
            }
        }
        SyncCommand::Status { repo, branch, path } => {
            let v = gitsync::sync::repo_status(&repo, &branch, &path)?;
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            )?;
            Ok(())
        }
    }
}
