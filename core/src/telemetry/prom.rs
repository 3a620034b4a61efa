//! A writer for the Prometheus text exposition format, version 0.0.4:
//! `# HELP` and `# TYPE` once per family, then its samples, label values
//! and help text escaped as the format says.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// The text of one exposition, family after family.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    /// Starts a family. `name` is the sample name (a counter's ends in
    /// `_total`, as the format's TYPE line names it).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        debug_assert!(valid_name(name), "{name}");
        debug_assert!(kind != Kind::Counter || name.ends_with("_total"));
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(
            self.out,
            "# TYPE {name} {}",
            match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            }
        );
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_into(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        write_value(&mut self.out, value);
        self.out.push('\n');
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label_into(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Integers as integers, other numbers as Rust's shortest round-trip
/// decimal (never an exponent), and the format's spellings of NaN and the
/// infinities.
fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o1_escapes_labels_and_help_and_spells_values() {
        let mut w = Writer::new();
        w.family("x_total", Kind::Counter, "a \\ help\nline");
        w.sample("x_total", &[("model", "a\"b\\c\nd")], 3.0);
        w.sample("x_total", &[], 0.25);
        w.sample("x_total", &[("a", "1"), ("b", "2")], f64::NAN);
        w.sample("x_total", &[], f64::INFINITY);
        assert_eq!(
            w.finish(),
            "# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\n\
             x_total{model=\"a\\\"b\\\\c\\nd\"} 3\nx_total 0.25\nx_total{a=\"1\",b=\"2\"} NaN\nx_total +Inf\n"
        );
        assert!(valid_name("usagebook_ledger_spend_usd_total"));
        assert!(!valid_name("9x") && !valid_name("a-b") && !valid_name(""));
    }
}
