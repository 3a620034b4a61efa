//! Reports as text: an aligned table that fits an 80-column terminal, JSON
//! for scripts, CSV for spreadsheets. The CLI only prints these strings.
//!
//! The table gives up detail, in this order, until it fits: exact token
//! counts (shown as 12.3k / 4.5M), the "last used" column, exact request
//! and error counts, the second space between columns. If keys still do
//! not fit, they are cut (with `~`) at the first of those steps that
//! leaves them 20 columns. JSON and CSV are always exact.

use crate::error::{Error, Result};
use crate::eventlog::event::format_usd;
use crate::eventlog::rfc3339;
use crate::eventlog::subject::SubjectRecord;
use crate::report::grouped::{GroupBy, GroupedReport, Sums};
use crate::report::zone::Zone;
use serde_json::{Map, Value};

pub const MAX_WIDTH: usize = 80;
const FLEX_MIN_PREFERRED: usize = 20;
const FLEX_MIN: usize = 6;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

impl OutputFormat {
    pub fn parse(s: &str) -> Result<OutputFormat> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "json" => Ok(OutputFormat::Json),
            "csv" => Ok(OutputFormat::Csv),
            other => Err(Error::invalid(format!(
                "unknown report format {other:?}: use one of table, json, csv"
            ))),
        }
    }
}

/// A grouped report in the asked format.
pub fn grouped(report: &GroupedReport, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => grouped_table(report),
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(&grouped_json(report)).unwrap_or_default();
            s.push('\n');
            s
        }
        OutputFormat::Csv => grouped_csv(report),
    }
}

// ------------------------------------------------------------------ table

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The column that is cut when nothing else helps.
    Flex,
    Text,
    Tokens,
    Count,
}

struct Col {
    header: String,
    left: bool,
    kind: Kind,
    /// Dropped from the third step on.
    optional: bool,
    exact: Vec<String>,
    compact: Vec<String>,
}

impl Col {
    fn new(header: &str, left: bool, kind: Kind) -> Self {
        Col {
            header: header.into(),
            left,
            kind,
            optional: false,
            exact: Vec::new(),
            compact: Vec::new(),
        }
    }

    fn push(&mut self, exact: String, compact: String) {
        self.exact.push(exact);
        self.compact.push(compact);
    }

    fn push_num(&mut self, v: u64) {
        self.push(v.to_string(), compact(v as f64));
    }

    fn push_text(&mut self, s: String) {
        self.push(s.clone(), s);
    }
}

#[derive(Clone, Copy)]
struct Step {
    compact_tokens: bool,
    optional: bool,
    compact_counts: bool,
    gap: usize,
}

const STEPS: [Step; 5] = [
    step(false, true, false, 2),
    step(true, true, false, 2),
    step(true, false, false, 2),
    step(true, false, true, 2),
    step(true, false, true, 1),
];

const fn step(compact_tokens: bool, optional: bool, compact_counts: bool, gap: usize) -> Step {
    Step {
        compact_tokens,
        optional,
        compact_counts,
        gap,
    }
}

/// Lays the columns out (header, rule, rows, and a rule before the last
/// row when `total_row`), each line at most 80 columns.
fn layout(cols: &[Col], total_row: bool) -> String {
    let rows = cols.first().map_or(0, |c| c.exact.len());
    let pick = |s: Step| -> Vec<(&Col, &Vec<String>)> {
        cols.iter()
            .filter(|c| s.optional || !c.optional)
            .map(|c| {
                let compact = match c.kind {
                    Kind::Tokens => s.compact_tokens,
                    Kind::Count => s.compact_counts,
                    _ => false,
                };
                (c, if compact { &c.compact } else { &c.exact })
            })
            .collect()
    };
    let width = |c: &Col, cells: &[String]| {
        cells
            .iter()
            .map(|s| s.chars().count())
            .chain([c.header.chars().count()])
            .max()
            .unwrap_or(0)
    };
    // The first step where every key fits whole; failing that, the first
    // (after compacting tokens) that leaves keys 20 columns; else the last.
    let mut fitting = None;
    let mut cut = None;
    for (i, s) in STEPS.iter().enumerate() {
        let picked = pick(*s);
        let widths: Vec<usize> = picked.iter().map(|(c, cells)| width(c, cells)).collect();
        let flex = picked.iter().position(|(c, _)| c.kind == Kind::Flex);
        let rest: usize = widths
            .iter()
            .enumerate()
            .filter(|(j, _)| Some(*j) != flex)
            .map(|(_, w)| w)
            .sum::<usize>()
            + s.gap * picked.len().saturating_sub(1);
        let avail = MAX_WIDTH.saturating_sub(rest);
        let natural = flex.map_or(0, |f| widths[f]);
        let mut widths = widths;
        if let Some(f) = flex {
            widths[f] = natural.min(avail.max(FLEX_MIN));
        }
        let candidate = (picked, widths, s.gap);
        if natural <= avail {
            fitting = Some(candidate);
            break;
        }
        let last = i == STEPS.len() - 1;
        if cut.is_none() && ((i >= 1 && avail >= FLEX_MIN_PREFERRED) || last) {
            cut = Some(candidate);
        }
    }
    let chosen = fitting.or(cut);
    let Some((picked, widths, gap)) = chosen else {
        return String::new();
    };
    let gap = " ".repeat(gap);
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        out.push_str(cells.join(&gap).trim_end());
        out.push('\n');
    };
    line(
        picked
            .iter()
            .zip(&widths)
            .map(|((c, _), w)| pad(&fit(&c.header, *w), *w, c.left))
            .collect(),
        &mut out,
    );
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(rule.clone(), &mut out);
    for r in 0..rows {
        if total_row && r + 1 == rows && rows > 1 {
            line(rule.clone(), &mut out);
        }
        line(
            picked
                .iter()
                .zip(&widths)
                .map(|((c, cells), w)| pad(&fit(&cells[r], *w), *w, c.left))
                .collect(),
            &mut out,
        );
    }
    out
}

fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('~');
    cut
}

fn pad(s: &str, width: usize, left: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.chars().count()));
    if left {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

/// At most 5 characters: 9999, 12.3k, 456k, 7.8M, ...
fn compact(v: f64) -> String {
    if v < 10_000.0 {
        return format!("{v:.0}");
    }
    let mut scaled = v;
    for unit in ["k", "M", "G", "T", "P", "E"] {
        scaled /= 1000.0;
        if scaled < 99.95 {
            return format!("{scaled:.1}{unit}");
        }
        if scaled < 999.5 {
            return format!("{scaled:.0}{unit}");
        }
    }
    format!("{scaled:.0}E")
}

/// Dollars for the table: `1234`, `12.34`, `0.0123`, `0.000029` (a cost
/// is never shown as zero when it is not), `-` when unknown; a `*` after a
/// sum that leaves out requests of unknown cost.
fn money(s: &Sums) -> String {
    match s.cost_nano() {
        None => "-".into(),
        Some(n) => {
            let usd = n as f64 / 1e9;
            let mark = if s.unpriced_requests() > 0 { "*" } else { "" };
            if usd.abs() >= 1000.0 {
                format!("{usd:.0}{mark}")
            } else if usd.abs() >= 1.0 {
                format!("{usd:.2}{mark}")
            } else if usd.abs() >= 0.0001 || n == 0 {
                format!("{usd:.4}{mark}")
            } else if usd.abs() >= 0.000_000_5 {
                format!("{usd:.6}{mark}")
            } else {
                format!("<0.000001{mark}")
            }
        }
    }
}

/// The note under a table whose cost column has a `*`.
const PARTIAL_COST_NOTE: &str = "cost $ with * leaves out requests of unknown cost";

/// Word-wraps a note to the table's width.
fn wrap(text: &str, out: &mut String) {
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > MAX_WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = format!("  {word}");
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out.push_str(&line);
    out.push('\n');
}

fn grouped_table(r: &GroupedReport) -> String {
    let mut out = String::new();
    if !r.exists {
        out.push_str(&format!(
            "no usage data: {} does not exist\n",
            r.path.display()
        ));
    } else if r.is_empty() {
        out.push_str(&format!("no usage recorded in {}\n", r.path.display()));
    } else {
        out.push_str(&layout(&grouped_cols(r), true));
    }
    let mut notes = r.notes.clone();
    let partial = |s: &Sums| s.priced_requests > 0 && s.unpriced_requests() > 0;
    if !r.is_empty() && (partial(&r.total) || r.rows.iter().any(|row| partial(&row.sums))) {
        notes.push(PARTIAL_COST_NOTE.into());
    }
    if r.query.zone != Zone::Utc && !r.is_empty() {
        notes.insert(0, format!("days and times in {}", r.query.zone.name()));
    }
    for n in notes {
        wrap(&n, &mut out);
    }
    out
}

fn grouped_cols(r: &GroupedReport) -> Vec<Col> {
    let mut key = Col::new(r.query.by.as_str(), true, Kind::Flex);
    let mut reqs = Col::new("reqs", false, Kind::Count);
    let mut errs = Col::new("errs", false, Kind::Count);
    let mut input = Col::new("input", false, Kind::Tokens);
    let mut output = Col::new("output", false, Kind::Tokens);
    let mut reasoning = Col::new("reason", false, Kind::Tokens);
    let mut cache_read = Col::new("c.read", false, Kind::Tokens);
    let mut cache_write = Col::new("c.write", false, Kind::Tokens);
    let mut total = Col::new("total", false, Kind::Tokens);
    let mut cost = Col::new("cost $", false, Kind::Text);
    let mut last = Col::new("last used", true, Kind::Text);
    last.optional = true;
    let zone = r.query.zone;
    let rows = r
        .rows
        .iter()
        .map(|row| (row.key.as_str(), &row.sums))
        .chain([("TOTAL", &r.total)]);
    for (k, s) in rows {
        key.push_text(k.to_string());
        reqs.push_num(s.requests);
        errs.push_num(s.errors);
        input.push_num(s.input_tokens);
        output.push_num(s.output_tokens);
        reasoning.push_num(s.reasoning_tokens);
        cache_read.push_num(s.cache_read_tokens);
        cache_write.push_num(s.cache_write_tokens);
        total.push_num(s.total_tokens);
        cost.push_text(money(s));
        last.push_text(s.last_ns.map_or("-".into(), |ns| {
            rfc3339::format_local(ns, zone.offset_at(ns), false)
        }));
    }
    let mut cols = vec![key, reqs, errs, input, output];
    if r.total.reasoning_tokens > 0 {
        cols.push(reasoning);
    }
    if r.total.cache_read_tokens > 0 {
        cols.push(cache_read);
    }
    if r.total.cache_write_tokens > 0 {
        cols.push(cache_write);
    }
    cols.push(total);
    if r.total.priced_requests > 0 {
        cols.push(cost);
    }
    if !matches!(r.query.by, GroupBy::Day | GroupBy::Month) {
        cols.push(last);
    }
    cols
}

// ------------------------------------------------------------------- JSON

fn sums_json(s: &Sums) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("requests".into(), s.requests.into());
    m.insert("errors".into(), s.errors.into());
    m.insert("input_tokens".into(), s.input_tokens.into());
    m.insert("output_tokens".into(), s.output_tokens.into());
    m.insert("reasoning_tokens".into(), s.reasoning_tokens.into());
    m.insert("cache_read_tokens".into(), s.cache_read_tokens.into());
    m.insert("cache_write_tokens".into(), s.cache_write_tokens.into());
    m.insert("total_tokens".into(), s.total_tokens.into());
    m.insert(
        "cost_usd".into(),
        s.cost_nano().map_or(Value::Null, |n| {
            // The exact decimal, as a JSON number.
            serde_json::from_str(&format_usd(n)).unwrap_or(Value::Null)
        }),
    );
    m.insert("unpriced_requests".into(), s.unpriced_requests().into());
    m.insert(
        "last_used_at".into(),
        s.last_ns
            .map_or(Value::Null, |ns| Value::String(rfc3339::format_ns(ns))),
    );
    m
}

fn bound(ns: Option<i64>) -> Value {
    ns.map_or(Value::Null, |ns| Value::String(rfc3339::format_ns(ns)))
}

/// `{store, path, exists, by, time_zone, since, until, rows: [{key, ...sums}],
/// total: sums, lines: {...}, other_events, notes}`. Times are UTC.
pub fn grouped_json(r: &GroupedReport) -> Value {
    let mut m = Map::new();
    m.insert("store".into(), r.store.as_str().into());
    m.insert("path".into(), r.path.display().to_string().into());
    m.insert("exists".into(), r.exists.into());
    m.insert("by".into(), r.query.by.as_str().into());
    m.insert("time_zone".into(), r.query.zone.name().into());
    m.insert("since".into(), bound(r.query.since_ns));
    m.insert("until".into(), bound(r.query.until_ns));
    let rows = r
        .rows
        .iter()
        .map(|row| {
            let mut o = Map::new();
            o.insert("key".into(), row.key.clone().into());
            o.extend(sums_json(&row.sums));
            Value::Object(o)
        })
        .collect();
    m.insert("rows".into(), Value::Array(rows));
    m.insert("total".into(), Value::Object(sums_json(&r.total)));
    m.insert("lines".into(), lines_json(&r.lines));
    m.insert("other_events".into(), r.other_events.into());
    m.insert(
        "notes".into(),
        Value::Array(r.notes.iter().map(|n| n.clone().into()).collect()),
    );
    Value::Object(m)
}

fn lines_json(l: &crate::eventlog::LineCounts) -> Value {
    let mut m = Map::new();
    m.insert("read".into(), l.lines.into());
    m.insert("blank".into(), l.blank.into());
    m.insert("malformed".into(), l.malformed.into());
    m.insert("duplicates".into(), l.duplicates.into());
    m.insert(
        "incomplete_tail_bytes".into(),
        l.incomplete_tail_bytes.into(),
    );
    Value::Object(m)
}

// -------------------------------------------------------------------- CSV

/// One CSV field (RFC 4180): quoted when it holds a comma, quote, line
/// break or edge space. Text that a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@` first) gets a leading `'`.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() && s != "-" {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn grouped_csv(r: &GroupedReport) -> String {
    let mut out = format!(
        "{},requests,errors,input_tokens,output_tokens,reasoning_tokens,cache_read_tokens,cache_write_tokens,total_tokens,cost_usd,unpriced_requests,last_used\n",
        r.query.by.as_str()
    );
    let zone = r.query.zone;
    let rows = r
        .rows
        .iter()
        .map(|row| (row.key.as_str(), &row.sums))
        .chain([("TOTAL", &r.total)]);
    for (k, s) in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(k),
            s.requests,
            s.errors,
            s.input_tokens,
            s.output_tokens,
            s.reasoning_tokens,
            s.cache_read_tokens,
            s.cache_write_tokens,
            s.total_tokens,
            s.cost_nano().map_or(String::new(), format_usd),
            s.unpriced_requests(),
            s.last_ns.map_or(String::new(), |ns| {
                rfc3339::format_local(ns, zone.offset_at(ns), true)
            }),
        ));
    }
    out
}

// ---------------------------------------------------------------- subjects

/// The per-subject report of an event log (seed 004, E3) in the asked
/// format. `lines` and `notes` are those of the read.
pub fn subjects(
    records: &[SubjectRecord],
    lines: &crate::eventlog::LineCounts,
    notes: &[String],
    zone: Zone,
    format: OutputFormat,
) -> String {
    match format {
        OutputFormat::Json => {
            let mut m = Map::new();
            m.insert(
                "records".into(),
                Value::Array(records.iter().map(SubjectRecord::to_json).collect()),
            );
            m.insert("lines".into(), lines_json(lines));
            m.insert(
                "notes".into(),
                Value::Array(notes.iter().map(|n| n.clone().into()).collect()),
            );
            let mut s = serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default();
            s.push('\n');
            s
        }
        OutputFormat::Csv => {
            let mut out = String::from(
                "kind,slug,use_count,last_used,source_breakdown,resident_exposure_count,estimated_tokens_per_injection,estimated_total_resident_exposure_tokens\n",
            );
            for r in records {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    csv_field(&r.kind),
                    csv_field(&r.slug),
                    r.use_count,
                    r.last_used_at_ns.map_or(String::new(), |ns| {
                        rfc3339::format_local(ns, zone.offset_at(ns), true)
                    }),
                    csv_field(&sources(r)),
                    r.resident_exposure_count,
                    r.estimated_tokens_per_injection,
                    r.estimated_total_resident_exposure_tokens
                ));
            }
            out
        }
        OutputFormat::Table => {
            let mut out = String::new();
            if records.is_empty() {
                out.push_str("no record uses or exposures in this log\n");
            } else {
                let mut kind = Col::new("kind", true, Kind::Text);
                let mut slug = Col::new("slug", true, Kind::Flex);
                let mut uses = Col::new("uses", false, Kind::Count);
                let mut last = Col::new("last used", true, Kind::Text);
                let mut exp = Col::new("exps", false, Kind::Count);
                let mut per = Col::new("tok/inj", false, Kind::Tokens);
                let mut tot = Col::new("exp tok", false, Kind::Tokens);
                let mut src = Col::new("sources", true, Kind::Text);
                src.optional = true;
                for r in records {
                    kind.push_text(r.kind.clone());
                    slug.push_text(r.slug.clone());
                    uses.push_num(r.use_count);
                    // The day only: room for the per-source breakdown.
                    last.push_text(r.last_used_at_ns.map_or("-".into(), |ns| {
                        rfc3339::format_local(ns, zone.offset_at(ns), false)[..10].to_string()
                    }));
                    exp.push_num(r.resident_exposure_count);
                    per.push_num(r.estimated_tokens_per_injection);
                    tot.push_num(r.estimated_total_resident_exposure_tokens);
                    let s = sources(r);
                    src.push_text(if s.is_empty() { "-".into() } else { s });
                }
                out.push_str(&layout(
                    &[kind, slug, uses, last, exp, per, tot, src],
                    false,
                ));
            }
            let mut notes = notes.to_vec();
            if zone != Zone::Utc && !records.is_empty() {
                notes.insert(0, format!("times in {}", zone.name()));
            }
            for n in notes {
                wrap(&n, &mut out);
            }
            out
        }
    }
}

/// `KnowledgeRef:2 MemoryRead:1`.
fn sources(r: &SubjectRecord) -> String {
    r.source_breakdown
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::grouped::{Query, Row, StoreKind};
    use std::path::PathBuf;

    fn sums(req: u64, tokens: u64) -> Sums {
        Sums {
            requests: req,
            errors: req / 10,
            input_tokens: tokens,
            output_tokens: tokens / 2,
            total_tokens: tokens + tokens / 2,
            last_ns: Some(1_736_000_000_000_000_000),
            ..Sums::default()
        }
    }

    fn report(by: GroupBy, rows: Vec<(String, Sums)>) -> GroupedReport {
        let mut total = Sums::default();
        for (_, s) in &rows {
            total.requests += s.requests;
            total.errors += s.errors;
            total.input_tokens = total.input_tokens.saturating_add(s.input_tokens);
            total.output_tokens = total.output_tokens.saturating_add(s.output_tokens);
            total.total_tokens = total.total_tokens.saturating_add(s.total_tokens);
            total.last_ns = total.last_ns.max(s.last_ns);
        }
        GroupedReport {
            query: Query::new(by),
            store: StoreKind::Log,
            path: PathBuf::from("/x/events.jsonl"),
            exists: true,
            rows: rows
                .into_iter()
                .map(|(key, sums)| Row { key, sums })
                .collect(),
            total,
            lines: Default::default(),
            other_events: 0,
            notes: vec![],
        }
    }

    fn check(text: &str) {
        for l in text.lines() {
            assert!(l.chars().count() <= MAX_WIDTH, "too wide: {l:?}");
        }
    }

    #[test]
    fn compact_is_at_most_five_chars() {
        assert_eq!(compact(9_999.0), "9999");
        assert_eq!(compact(12_345.0), "12.3k");
        assert_eq!(compact(999_999.0), "1.0M");
        assert_eq!(compact(u64::MAX as f64), "18.4E");
    }

    #[test]
    fn huge_numbers_and_long_names_still_fit_80_columns() {
        let mut r = report(
            GroupBy::Bridge,
            vec![
                (
                    "a-very-long-bridge-identifier/with-a-model-name-2025-01-01".into(),
                    sums(u32::MAX as u64, u64::MAX / 4),
                ),
                ("short".into(), sums(1, 5)),
            ],
        );
        r.total.reasoning_tokens = u64::MAX;
        r.total.cache_read_tokens = 1;
        r.total.cache_write_tokens = u64::MAX / 3;
        r.total.priced_requests = 1;
        r.total.cost_nano_usd = 123_456_789_000_000_000;
        let t = grouped(&r, OutputFormat::Table);
        check(&t);
        assert!(t.contains('~'), "long name is cut: {t}");
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[lines.len() - 2].starts_with("TOTAL"), "{t}");
        // One request of the total is priced, the rest not: marked.
        assert!(lines[lines.len() - 2].ends_with('*'), "{t}");
        assert_eq!(lines.last(), Some(&PARTIAL_COST_NOTE), "{t}");
    }

    #[test]
    fn u6_cache_columns_and_rows_with_unpriced_requests_are_shown() {
        let mut a = sums(4, 1000);
        a.cache_read_tokens = 600;
        a.cache_write_tokens = 200;
        a.priced_requests = 3;
        a.cost_nano_usd = 12_345_000;
        let mut b = sums(2, 10);
        b.priced_requests = 2;
        b.cost_nano_usd = 1_000;
        let mut r = report(
            GroupBy::Day,
            vec![("2025-10-31".into(), a), ("2025-11-01".into(), b)],
        );
        r.total.cache_read_tokens = 600;
        r.total.cache_write_tokens = 200;
        r.total.priced_requests = 5;
        r.total.cost_nano_usd = 12_346_000;
        let t = grouped(&r, OutputFormat::Table);
        check(&t);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["day", "reqs", "errs", "input", "output", "c.read", "c.write", "total", "cost", "$"],
            "{t}"
        );
        let cells = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            cells(lines[2]),
            [
                "2025-10-31",
                "4",
                "0",
                "1000",
                "500",
                "600",
                "200",
                "1500",
                "0.0123*"
            ],
            "{t}"
        );
        assert!(
            lines[3].ends_with(" 0.000001"),
            "fully priced: no mark: {t}"
        );
        assert!(lines[5].ends_with(" 0.0123*"), "{t}");
        assert_eq!(lines[6], PARTIAL_COST_NOTE);
        let v = grouped_json(&r);
        assert_eq!(v["rows"][0]["cache_read_tokens"], 600);
        assert_eq!(v["rows"][0]["cache_write_tokens"], 200);
        assert_eq!(v["rows"][0]["unpriced_requests"], 1);
        assert_eq!(v["rows"][0]["cost_usd"], 0.012345);
        assert_eq!(v["total"]["unpriced_requests"], 1);
        let csv = grouped(&r, OutputFormat::Csv);
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows[0], "day,requests,errors,input_tokens,output_tokens,reasoning_tokens,cache_read_tokens,cache_write_tokens,total_tokens,cost_usd,unpriced_requests,last_used");
        assert!(
            rows[1].starts_with("2025-10-31,4,0,1000,500,0,600,200,1500,0.012345,1,"),
            "{csv}"
        );
    }

    #[test]
    fn u3_small_costs_are_never_shown_as_zero() {
        let cost = |nano: i128, priced: u64| {
            money(&Sums {
                requests: 1,
                priced_requests: priced,
                cost_nano_usd: nano,
                ..Sums::default()
            })
        };
        assert_eq!(cost(1_234_600_000_000, 1), "1235");
        assert_eq!(cost(12_345_000_000, 1), "12.35");
        assert_eq!(cost(12_345_000, 1), "0.0123");
        assert_eq!(cost(28_800, 1), "0.000029");
        assert_eq!(cost(100, 1), "<0.000001");
        assert_eq!(cost(0, 1), "0.0000");
        assert_eq!(cost(0, 0), "-");
    }

    #[test]
    fn csv_quotes_and_guards_text() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-5"), "-5");
    }

    #[test]
    fn unknown_formats_list_the_choices() {
        let e = OutputFormat::parse("xml").unwrap_err().to_string();
        assert!(e.contains("table, json, csv"), "{e}");
    }
}
