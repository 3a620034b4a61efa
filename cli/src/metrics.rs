//! `usagebook metrics`: the Prometheus exposition of a tracker directory
//! or a ledger database (O1), printed once or served on `/metrics`. The
//! figures and the text come from `usagebook_core::telemetry`.

use crate::Failure;
use std::io::Write;
use std::path::PathBuf;
use usagebook_core::telemetry::{self, LedgerScan, MetricsOptions};

pub(crate) enum Source {
    Dir(PathBuf),
    Db(Box<LedgerScan>),
}

impl Source {
    pub fn new(dir: Option<PathBuf>, db: Option<PathBuf>) -> Source {
        match (dir, db) {
            (Some(d), _) => Source::Dir(d),
            (None, Some(f)) => Source::Db(Box::new(LedgerScan::new(f))),
            (None, None) => unreachable!("clap requires --dir or --db"),
        }
    }

    /// One exposition, as of `now_ms`.
    pub fn render(&mut self, opts: &MetricsOptions, now_ms: i64) -> usagebook_core::Result<String> {
        match self {
            Source::Dir(d) => {
                if !d.join("llm-usage").is_dir() {
                    return Err(usagebook_core::Error::io(
                        format!("no tracker directory at {}", d.join("llm-usage").display()),
                        std::io::Error::from(std::io::ErrorKind::NotFound),
                    ));
                }
                telemetry::tracker_dir_metrics_text(d, opts)
            }
            Source::Db(scan) => {
                let f = scan.read(&opts.timezone, now_ms)?;
                telemetry::ledger_metrics_text(&f, None, opts)
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn print(
    out: &mut impl Write,
    mut src: Source,
    opts: &MetricsOptions,
    at_ms: Option<i64>,
) -> Result<(), Failure> {
    let text = src.render(opts, at_ms.unwrap_or_else(now_ms))?;
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// Serves `GET /metrics` until killed, one request at a time (a scrape
/// every few seconds needs no more). Each scrape reads the store afresh;
/// a ledger database is read incrementally (only events since the last
/// scrape).
pub(crate) fn serve(
    addr: &str,
    mut src: Source,
    opts: &MetricsOptions,
    at_ms: Option<i64>,
) -> Result<(), Failure> {
    // Refuse a bad store before listening, as the printing form does.
    src.render(opts, at_ms.unwrap_or_else(now_ms))?;
    let server = tiny_http::Server::http(addr)
        .map_err(|e| Failure::Message(format!("listening on {addr}: {e}")))?;
    let bound = server
        .server_addr()
        .to_ip()
        .map_or_else(|| addr.to_string(), |a| a.to_string());
    eprintln!("usagebook: serving http://{bound}/metrics");
    let text_type = tiny_http::Header::from_bytes(
        &b"Content-Type"[..],
        &b"text/plain; version=0.0.4; charset=utf-8"[..],
    )
    .expect("a valid header");
    for req in server.incoming_requests() {
        let path = req.url().split('?').next().unwrap_or("");
        let resp = if path != "/metrics" {
            tiny_http::Response::from_string("not found: usagebook serves /metrics\n")
                .with_status_code(404)
        } else if !matches!(
            req.method(),
            tiny_http::Method::Get | tiny_http::Method::Head
        ) {
            tiny_http::Response::from_string("method not allowed\n").with_status_code(405)
        } else {
            match src.render(opts, at_ms.unwrap_or_else(now_ms)) {
                Ok(text) => tiny_http::Response::from_string(text).with_header(text_type.clone()),
                Err(e) => {
                    eprintln!("usagebook: {e}");
                    tiny_http::Response::from_string(format!("{e}\n")).with_status_code(500)
                }
            }
        };
        // A scraper that hung up is its own problem; keep serving.
        let _ = req.respond(resp);
    }
    Ok(())
}
