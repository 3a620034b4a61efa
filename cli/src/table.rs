//! The report table: one row per bridge plus a totals row, columns aligned,
//! never wider than 80 columns. When the full form does not fit, it gives
//! up, in order: seconds of the last-use time, long bridge
//! names (cut to 20), exact token counts (shown as 12.3k / 4.5M), exact
//! request and error counts, the second space between columns, and finally
//! more of the bridge names. The JSON form (`--json`) is always exact.

use usagebook_core::{timefmt, Report, UsageStats};

pub const MAX_WIDTH: usize = 80;
const BRIDGE_MIN_PREFERRED: usize = 20;
const BRIDGE_MIN: usize = 6;

#[derive(Clone, Copy)]
struct Style {
    seconds: bool,
    /// Show large token counts as 12.3k / 4.5M.
    compact_tokens: bool,
    /// Also large request and error counts.
    compact_counts: bool,
    gap: usize,
}

const STYLES: [Style; 5] = [
    style(true, false, false, 2),
    style(false, false, false, 2),
    style(false, true, false, 2),
    style(false, true, true, 2),
    style(false, true, true, 1),
];

const fn style(seconds: bool, compact_tokens: bool, compact_counts: bool, gap: usize) -> Style {
    Style {
        seconds,
        compact_tokens,
        compact_counts,
        gap,
    }
}

const HEADERS: [&str; 8] = [
    "bridge",
    "reqs",
    "prompt",
    "compl",
    "total",
    "avg",
    "errs",
    "last used (UTC)",
];
/// Left-aligned columns; the rest are numbers, right-aligned.
const LEFT: [bool; 8] = [true, false, false, false, false, false, false, true];

/// The table, or a one-line message when there is nothing to show.
pub fn render_or_empty(report: &Report) -> String {
    if !report.exists {
        return format!("no usage data: {} does not exist\n", report.dir.display());
    }
    if report.is_empty() {
        return format!("no usage recorded in {}\n", report.dir.display());
    }
    render(report)
}

/// Renders every bridge and the totals row, each line at most 80 columns.
pub fn render(report: &Report) -> String {
    let mut rows: Vec<(&str, &UsageStats)> = report
        .per_bridge
        .iter()
        .map(|(b, s)| (b.as_str(), s))
        .collect();
    rows.push(("TOTAL", &report.total));

    let mut chosen = None;
    for (i, style) in STYLES.iter().enumerate() {
        let cells = cells(&rows, *style);
        let (rest, natural) = widths(&cells, *style);
        let avail = MAX_WIDTH.saturating_sub(rest);
        if natural <= avail {
            chosen = Some((cells, *style, natural));
            break;
        }
        if i >= 1 && avail >= BRIDGE_MIN_PREFERRED {
            chosen = Some((cells, *style, avail));
            break;
        }
    }
    let (cells, style, bridge_w) = chosen.unwrap_or_else(|| {
        let style = STYLES[STYLES.len() - 1];
        let cells = cells(&rows, style);
        let (rest, _) = widths(&cells, style);
        (cells, style, MAX_WIDTH.saturating_sub(rest).max(BRIDGE_MIN))
    });

    let mut w = column_widths(&cells);
    w[0] = bridge_w;
    let gap = " ".repeat(style.gap);
    let mut out = String::new();
    let rule: Vec<String> = w.iter().map(|&n| "-".repeat(n)).collect();
    let last = cells.len() - 1;
    for (r, row) in cells.iter().enumerate() {
        if r == 1 || r == last {
            push_line(&mut out, &rule.join(&gap));
        }
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| pad(&fit(cell, w[c]), w[c], LEFT[c]))
            .collect();
        push_line(&mut out, &line.join(&gap));
    }
    out
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line.trim_end());
    out.push('\n');
}

/// Header row first, then one row a bridge, then the totals row.
fn cells(rows: &[(&str, &UsageStats)], style: Style) -> Vec<Vec<String>> {
    let mut out = vec![HEADERS.iter().map(|h| h.to_string()).collect()];
    let num = |v: u64, compact_it: bool| {
        if compact_it {
            compact(v as f64)
        } else {
            v.to_string()
        }
    };
    let tok = |v: u64| num(v, style.compact_tokens);
    let count = |v: u64| num(v, style.compact_counts);
    for (bridge, s) in rows {
        let avg = if style.compact_tokens && s.average_tokens_per_request >= 10_000.0 {
            compact(s.average_tokens_per_request)
        } else {
            format!("{:.0}", s.average_tokens_per_request)
        };
        out.push(vec![
            bridge.to_string(),
            count(s.total_requests),
            tok(s.prompt_tokens),
            tok(s.completion_tokens),
            tok(s.total_tokens),
            avg,
            count(s.error_count),
            last_used(s.last_used_at_ms, style.seconds),
        ]);
    }
    out
}

/// (width of every column but the bridge, including gaps; natural bridge width)
fn widths(cells: &[Vec<String>], style: Style) -> (usize, usize) {
    let w = column_widths(cells);
    let rest: usize = w[1..].iter().sum::<usize>() + style.gap * (w.len() - 1);
    (rest, w[0])
}

fn column_widths(cells: &[Vec<String>]) -> Vec<usize> {
    let mut w = vec![0; cells[0].len()];
    for row in cells {
        for (c, cell) in row.iter().enumerate() {
            w[c] = w[c].max(cell.chars().count());
        }
    }
    w
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

/// `YYYY-MM-DD HH:MM[:SS]` in UTC, or `-` when never used.
fn last_used(ms: Option<i64>, seconds: bool) -> String {
    match ms {
        None => "-".into(),
        Some(ms) => {
            let iso = timefmt::format_iso_ms(ms); // 2025-01-04T14:13:20.000Z
            let end = if seconds { 19 } else { 16 };
            format!("{} {}", &iso[..10], &iso[11..end])
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn stats(req: u64, tokens: u64) -> UsageStats {
        UsageStats {
            total_requests: req,
            prompt_tokens: tokens,
            completion_tokens: tokens / 2,
            total_tokens: tokens + tokens / 2,
            average_tokens_per_request: (tokens + tokens / 2) as f64 / req as f64,
            last_used_at_ms: Some(1_736_000_000_000),
            error_count: 3,
        }
    }

    fn report(rows: Vec<(String, UsageStats)>) -> Report {
        let mut total = UsageStats::default();
        for (_, s) in &rows {
            total.total_requests += s.total_requests;
            total.prompt_tokens += s.prompt_tokens;
            total.completion_tokens += s.completion_tokens;
            total.total_tokens += s.total_tokens;
            total.error_count += s.error_count;
        }
        total.last_used_at_ms = Some(1_736_000_000_000);
        total.average_tokens_per_request = total.total_tokens as f64 / total.total_requests as f64;
        Report {
            dir: PathBuf::from("/x/llm-usage"),
            exists: true,
            per_bridge: rows,
            total,
            snapshot: usagebook_core::report::SnapshotSource::Primary,
            replayed: 0,
            log_lines: 0,
            notes: Vec::new(),
        }
    }

    fn check(text: &str) {
        let lines: Vec<&str> = text.lines().collect();
        for l in &lines {
            assert!(l.chars().count() <= MAX_WIDTH, "too wide: {l:?}");
        }
    }

    #[test]
    fn compact_is_at_most_five_chars() {
        assert_eq!(compact(9_999.0), "9999");
        assert_eq!(compact(12_345.0), "12.3k");
        assert_eq!(compact(999_499.0), "999k");
        assert_eq!(compact(999_999.0), "1.0M");
        assert_eq!(compact(u64::MAX as f64), "18.4E");
        for v in [1e4, 99_950.0, 1e6, 5e8, 1e12, 1e15, 1e18] {
            assert!(compact(v).len() <= 5, "{v}: {}", compact(v));
        }
    }

    #[test]
    fn small_report_uses_the_full_form() {
        let t = render(&report(vec![("openai/gpt-4o".into(), stats(10, 1000))]));
        check(&t);
        assert!(t.starts_with("bridge"), "{t}");
        assert!(t.contains("reqs"), "{t}");
        assert!(t.contains("2025-01-04 14:13:20"), "{t}");
    }

    #[test]
    fn huge_numbers_and_long_names_still_fit_80_columns() {
        let t = render(&report(vec![
            (
                "a-very-long-bridge-identifier/with-a-model-name-2025-01-01".into(),
                stats(u32::MAX as u64, u64::MAX / 4),
            ),
            ("short".into(), stats(1, 5)),
        ]));
        check(&t);
        assert!(t.contains('~'), "long name is cut: {t}");
    }
}
