//! The per-subject report of seed 004 (E3): for each record `(kind, slug)`
//! its explicit uses (count, last use, per-source breakdown) and, counted
//! separately, its resident exposures with their token estimate. Exposure
//! events never touch use counts; events of kinds this version does not
//! know touch nothing. Sorted by `(kind, slug)`.

use crate::eventlog::{rfc3339, Event, EventKind};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// One subject's line of the report; the fields are the seed's
/// `UsageReportRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubjectRecord {
    pub kind: String,
    pub slug: String,
    pub use_count: u64,
    /// Latest `occurred_at` of a use event (UTC ns); `None` if never used.
    pub last_used_at_ns: Option<i64>,
    /// `{source: count}` over use events.
    pub source_breakdown: BTreeMap<String, u64>,
    pub resident_exposure_count: u64,
    /// The estimate of the last exposure event in file order.
    pub estimated_tokens_per_injection: u64,
    /// That estimate times the exposure count, saturating.
    pub estimated_total_resident_exposure_tokens: u64,
}

impl SubjectRecord {
    /// The seed's JSON form (snake_case, `last_used_at` RFC 3339 or null).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), Value::String(self.kind.clone()));
        m.insert("slug".into(), Value::String(self.slug.clone()));
        m.insert("use_count".into(), Value::from(self.use_count));
        m.insert(
            "last_used_at".into(),
            self.last_used_at_ns
                .map_or(Value::Null, |ns| Value::String(rfc3339::format_ns(ns))),
        );
        m.insert(
            "source_breakdown".into(),
            Value::Object(
                self.source_breakdown
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(*v)))
                    .collect(),
            ),
        );
        m.insert(
            "resident_exposure_count".into(),
            Value::from(self.resident_exposure_count),
        );
        m.insert(
            "estimated_tokens_per_injection".into(),
            Value::from(self.estimated_tokens_per_injection),
        );
        m.insert(
            "estimated_total_resident_exposure_tokens".into(),
            Value::from(self.estimated_total_resident_exposure_tokens),
        );
        Value::Object(m)
    }
}

/// Folds events, in file order, into the per-subject report.
#[derive(Debug, Default)]
pub struct SubjectReport {
    acc: HashMap<(String, String), SubjectRecord>,
}

impl SubjectReport {
    pub fn new() -> Self {
        SubjectReport::default()
    }

    pub fn add(&mut self, event: &Event) {
        let exposure = match event.kind {
            EventKind::Use => false,
            EventKind::ResidentExposure => true,
            _ => return,
        };
        for r in &event.records {
            let e = self
                .acc
                .entry((r.kind.clone(), r.slug.clone()))
                .or_insert_with(|| SubjectRecord {
                    kind: r.kind.clone(),
                    slug: r.slug.clone(),
                    ..SubjectRecord::default()
                });
            if exposure {
                e.resident_exposure_count += 1;
                e.estimated_tokens_per_injection = r.file_tokens_estimate;
            } else {
                e.use_count += 1;
                let source = event.source.as_ref().map_or("", |s| s.as_str());
                *e.source_breakdown.entry(source.to_string()).or_insert(0) += 1;
                e.last_used_at_ns = Some(
                    e.last_used_at_ns
                        .map_or(event.occurred_at_ns, |t| t.max(event.occurred_at_ns)),
                );
            }
        }
    }

    /// The records, sorted by `(kind, slug)`.
    pub fn finish(self) -> Vec<SubjectRecord> {
        let mut v: Vec<SubjectRecord> = self
            .acc
            .into_values()
            .map(|mut r| {
                r.estimated_total_resident_exposure_tokens = r
                    .estimated_tokens_per_injection
                    .saturating_mul(r.resident_exposure_count);
                r
            })
            .collect();
        v.sort_by(|a, b| (&a.kind, &a.slug).cmp(&(&b.kind, &b.slug)));
        v
    }
}

/// The report of a list of events (in file order).
pub fn report<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<SubjectRecord> {
    let mut r = SubjectReport::new();
    for e in events {
        r.add(e);
    }
    r.finish()
}

/// The per-subject report of an event log file, with what the read
/// skipped.
#[derive(Debug, Clone, Default)]
pub struct LogSubjects {
    /// False when the file does not exist (the report is then empty).
    pub exists: bool,
    pub records: Vec<SubjectRecord>,
    pub lines: crate::eventlog::LineCounts,
    /// `skipped 3 malformed lines` and the like.
    pub notes: Vec<String>,
}

/// Reads the log at `path` and reports per subject the events in
/// `[since_ns, until_ns)`. A missing file is an empty report; bad lines are
/// skipped and counted.
pub fn from_log(
    path: impl AsRef<std::path::Path>,
    since_ns: Option<i64>,
    until_ns: Option<i64>,
) -> crate::error::Result<LogSubjects> {
    let read = crate::eventlog::read_events(path)?;
    let mut r = SubjectReport::new();
    for e in &read.events {
        if since_ns.is_none_or(|s| e.occurred_at_ns >= s)
            && until_ns.is_none_or(|u| e.occurred_at_ns < u)
        {
            r.add(e);
        }
    }
    Ok(LogSubjects {
        exists: read.exists,
        records: r.finish(),
        lines: read.counts,
        notes: read.counts.notes(),
    })
}

#[cfg(test)]
mod tests {
    //! The seed's own tests, with the seed's numbers (FORMATS-EXTERNAL §2).
    use super::*;
    use crate::eventlog::{append_event, read_events, RecordSnapshot, Source};

    fn use_event(seg: &str, source: Source, rec: &RecordSnapshot) -> Event {
        Event::subject(EventKind::Use, seg, source, vec![rec.clone()])
    }

    fn exposure(seg: &str, rec: &RecordSnapshot) -> Event {
        Event::subject(
            EventKind::ResidentExposure,
            seg,
            Source::ResidentInjection,
            vec![rec.clone()],
        )
    }

    /// Written to a real log and read back, as the seed's test does.
    fn via_log(events: &[Event]) -> Vec<SubjectRecord> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".yoi/memory/_usage/events.jsonl");
        for e in events {
            append_event(&p, e).unwrap();
        }
        report(&read_events(&p).unwrap().events)
    }

    #[test]
    fn e3_aggregates_use_and_resident_exposure_separately() {
        let decision = RecordSnapshot::from_bytes("decision", "alpha", b"abcd");
        let knowledge = RecordSnapshot::from_bytes("knowledge", "policy", b"abcdefgh");
        let report = via_log(&[
            use_event("session-a", Source::MemoryRead, &decision),
            use_event("session-a", Source::KnowledgeRef, &knowledge),
            use_event("session-b", Source::KnowledgeRef, &knowledge),
            exposure("session-b", &knowledge),
        ]);
        assert_eq!(report.len(), 2);
        let d = report
            .iter()
            .find(|r| r.kind == "decision" && r.slug == "alpha")
            .unwrap();
        assert_eq!(d.use_count, 1);
        assert_eq!(d.source_breakdown["MemoryRead"], 1);
        assert_eq!(d.resident_exposure_count, 0);
        assert!(d.last_used_at_ns.is_some());
        let k = report
            .iter()
            .find(|r| r.kind == "knowledge" && r.slug == "policy")
            .unwrap();
        assert_eq!(k.use_count, 2);
        assert_eq!(k.source_breakdown["KnowledgeRef"], 2);
        assert_eq!(k.resident_exposure_count, 1);
        assert_eq!(k.estimated_tokens_per_injection, 2);
        assert_eq!(k.estimated_total_resident_exposure_tokens, 2);
        // Sorted by (kind, slug).
        assert_eq!(report[0].kind, "decision");
    }

    #[test]
    fn e3_resident_only_record_does_not_increment_use_count() {
        let snapshot = RecordSnapshot::from_bytes("knowledge", "policy", b"abcdefgh");
        let report = via_log(&[exposure("session", &snapshot)]);
        let r = &report[0];
        assert_eq!(r.use_count, 0);
        assert!(r.last_used_at_ns.is_none());
        assert!(r.source_breakdown.is_empty());
        assert_eq!(r.resident_exposure_count, 1);
        assert_eq!(
            serde_json::to_string(&r.to_json()).unwrap(),
            r#"{"kind":"knowledge","slug":"policy","use_count":0,"last_used_at":null,"source_breakdown":{},"resident_exposure_count":1,"estimated_tokens_per_injection":2,"estimated_total_resident_exposure_tokens":2}"#
        );
    }

    #[test]
    fn e3_last_use_is_the_max_and_per_injection_the_last_exposure_in_file_order() {
        let small = RecordSnapshot::from_bytes("knowledge", "p", b"abcd");
        let big = RecordSnapshot::from_bytes("knowledge", "p", &[b'x'; 41]);
        let mut late = use_event("s", Source::MemoryRead, &small);
        late.occurred_at_ns = 2_000;
        let mut early = use_event("s", Source::Other("VectorSearch".into()), &small);
        early.occurred_at_ns = 1_000;
        let mut odd = late.clone();
        odd.kind = EventKind::Other("prefetch".into());
        let r = report(&[
            exposure("s", &big),
            late,
            exposure("s", &small),
            exposure("s", &big),
            early,
            odd,
        ]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].use_count, 2);
        assert_eq!(r[0].last_used_at_ns, Some(2_000));
        assert_eq!(r[0].source_breakdown.len(), 2);
        assert_eq!(r[0].source_breakdown["VectorSearch"], 1);
        assert_eq!(r[0].resident_exposure_count, 3);
        assert_eq!(r[0].estimated_tokens_per_injection, 11);
        assert_eq!(r[0].estimated_total_resident_exposure_tokens, 33);
        let mut huge = RecordSnapshot::from_bytes("k", "h", b"");
        huge.file_tokens_estimate = u64::MAX;
        let r = report(&[exposure("s", &huge), exposure("s", &huge)]);
        assert_eq!(r[0].estimated_total_resident_exposure_tokens, u64::MAX);
    }
}
