//! A request line read byte by byte, in exactly the shape
//! `Event::to_line` writes it (`id, occurred_at, event, bridge?, provider?,
//! model?, tokens?, status?, duration_ms?, cost_usd?`, no escapes, nothing
//! else; tokens as written now, `input, output, reasoning, cache_read,
//! cache_write, total`, or as written before cache writes were recorded,
//! with `cached` in their place): several times faster than serde, which
//! keeps a report over a million events well above half the rate of
//! merely parsing them. Any other shape returns `None` and the caller
//! reads the line with serde; whatever this accepts, serde reads the same
//! way (a test checks).

/// What a report needs of a request line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FastRequest<'a> {
    pub id: u128,
    pub ts_ns: i64,
    pub bridge: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub model: Option<&'a str>,
    /// input, output, reasoning, cache_read, cache_write, total; `None`
    /// when the line has no `tokens`.
    pub tokens: Option<[u64; 6]>,
    pub error: bool,
    pub cost_usd: Option<f64>,
}

struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn lit(&mut self, s: &[u8]) -> Option<()> {
        self.0 = self.0.strip_prefix(s)?;
        Some(())
    }

    fn try_lit(&mut self, s: &[u8]) -> bool {
        self.lit(s).is_some()
    }

    /// A string body up to its closing quote: no escapes, no control
    /// characters, valid UTF-8.
    fn string(&mut self) -> Option<&'a str> {
        let i = memchr::memchr(b'"', self.0)?;
        let (s, rest) = self.0.split_at(i);
        if s.iter().any(|&c| c == b'\\' || c < 0x20) {
            return None;
        }
        self.0 = &rest[1..];
        std::str::from_utf8(s).ok()
    }

    /// A JSON non-negative integer that fits u64.
    fn uint(&mut self) -> Option<u64> {
        let n = self.0.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 20 || (n > 1 && self.0[0] == b'0') {
            return None;
        }
        let mut v: u64 = 0;
        for &c in &self.0[..n] {
            v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        }
        self.0 = &self.0[n..];
        Some(v)
    }

    /// A JSON number (strict grammar), as f64.
    fn number(&mut self) -> Option<f64> {
        let b = self.0;
        let mut i = usize::from(b.first() == Some(&b'-'));
        let int = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if int == 0 || (int > 1 && b[i] == b'0') {
            return None;
        }
        i += int;
        if b.get(i) == Some(&b'.') {
            let f = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if f == 0 {
                return None;
            }
            i += 1 + f;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let e = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if e == 0 {
                return None;
            }
            i += e;
        }
        let v: f64 = std::str::from_utf8(&b[..i]).ok()?.parse().ok()?;
        self.0 = &b[i..];
        v.is_finite().then_some(v)
    }
}

/// `Some` for a request line in the canonical shape; `None` for anything
/// else (another shape, another event kind, or a bad line).
pub(crate) fn parse(line: &[u8]) -> Option<FastRequest<'_>> {
    let mut c = Cur(line);
    c.lit(b"{\"id\":\"")?;
    let id = uuid::Uuid::try_parse_ascii(c.0.get(..36)?).ok()?.as_u128();
    c.0 = &c.0[36..];
    c.lit(b"\",\"occurred_at\":\"")?;
    let ts_ns = crate::eventlog::rfc3339::parse_ns(c.string()?)?;
    c.lit(b",\"event\":\"request\"")?;
    let mut r = FastRequest {
        id,
        ts_ns,
        bridge: None,
        provider: None,
        model: None,
        tokens: None,
        error: false,
        cost_usd: None,
    };
    if c.try_lit(b",\"bridge\":\"") {
        r.bridge = Some(c.string()?);
    }
    if c.try_lit(b",\"provider\":\"") {
        r.provider = Some(c.string()?);
    }
    if c.try_lit(b",\"model\":\"") {
        r.model = Some(c.string()?);
    }
    if c.try_lit(b",\"tokens\":{\"input\":") {
        let mut t = [0u64; 6];
        t[0] = c.uint()?;
        c.lit(b",\"output\":")?;
        t[1] = c.uint()?;
        c.lit(b",\"reasoning\":")?;
        t[2] = c.uint()?;
        if c.try_lit(b",\"cache_read\":") {
            t[3] = c.uint()?;
            c.lit(b",\"cache_write\":")?;
            t[4] = c.uint()?;
        } else {
            // Written before cache writes were recorded.
            c.lit(b",\"cached\":")?;
            t[3] = c.uint()?;
        }
        c.lit(b",\"total\":")?;
        t[5] = c.uint()?;
        c.lit(b"}")?;
        r.tokens = Some(t);
    }
    if c.try_lit(b",\"status\":\"") {
        r.error = c.string()? == "error";
    }
    if c.try_lit(b",\"duration_ms\":") {
        c.number()?;
    }
    if c.try_lit(b",\"cost_usd\":") {
        r.cost_usd = Some(c.number()?);
    }
    c.lit(b"}")?;
    c.0.iter().all(u8::is_ascii_whitespace).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::{id, Event, Status, Tokens};

    #[test]
    fn agrees_with_serde_on_every_line_it_takes() {
        let mut lines = Vec::new();
        for i in 0..64u64 {
            let mut e = Event::request(
                ["openai/gpt-4o", "é/ü", "local"][i as usize % 3],
                Tokens {
                    input: i * 1000,
                    output: i,
                    reasoning: i % 3,
                    cache_read: u64::MAX - i,
                    cache_write: i * 7,
                    total: 7,
                },
                [Status::Success, Status::Error, Status::Other("x".into())][i as usize % 3].clone(),
            );
            e.id = id::derived_v7(i as i64, "k");
            e.occurred_at_ns = 1_736_000_000_123_456_789 + i as i64;
            if i % 2 == 0 {
                e.provider = Some("p".into());
            }
            if i % 4 == 0 {
                e.model = Some("m".into());
                e.bridge = None;
            }
            if i % 5 == 0 {
                e.tokens = None;
            }
            if i % 3 == 0 {
                e.duration_ms = Some(i as f64 * 1.5);
            }
            if i % 7 != 0 {
                e.cost_nano_usd = Some((i * 1_234_567) as i64);
            }
            if let Some(t) = e.tokens.filter(|_| i % 6 == 1) {
                // As written before cache writes were recorded.
                lines.push(e.to_line().replace(
                    &format!(
                        ",\"cache_read\":{},\"cache_write\":{},",
                        t.cache_read, t.cache_write
                    ),
                    &format!(",\"cached\":{},", t.cache_read),
                ));
            }
            lines.push(e.to_line());
        }
        assert!(lines.iter().any(|l| l.contains("\"cached\":")));
        for line in &lines {
            let fast = parse(line.as_bytes()).expect(line);
            let slow = Event::from_line(line.as_bytes()).unwrap();
            assert_eq!(fast.id, slow.id.as_u128());
            assert_eq!(fast.ts_ns, slow.occurred_at_ns);
            assert_eq!(fast.bridge, slow.bridge.as_deref());
            assert_eq!(fast.provider, slow.provider.as_deref());
            assert_eq!(fast.model, slow.model.as_deref());
            assert_eq!(
                fast.tokens,
                slow.tokens.map(|t| [
                    t.input,
                    t.output,
                    t.reasoning,
                    t.cache_read,
                    t.cache_write,
                    t.total
                ])
            );
            assert_eq!(fast.error, slow.status == Some(Status::Error));
            assert_eq!(
                fast.cost_usd.map(crate::eventlog::event::usd_to_nano),
                slow.cost_nano_usd,
                "{line}"
            );
        }
        // Other shapes go to serde.
        for other in [
            r#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"request","bridge":"a\"b"}"#,
            r#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"request","extra":1}"#,
            r#"{"occurred_at":"2025-01-04T09:15:00Z","id":"0194362a-8a00-7000-8000-000000000001","event":"request"}"#,
            r#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"use","records":[]}"#,
            r#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"request","cost_usd":1.}"#,
            r#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"request","tokens":{"input":01,"output":0,"reasoning":0,"cached":0,"total":0}}"#,
            r#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"request","tokens":{"input":18446744073709551616,"output":0,"reasoning":0,"cached":0,"total":0}}"#,
            r#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"request","tokens":{"input":1,"output":0,"reasoning":0,"cache_read":0,"total":1}}"#,
            r#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"request","tokens":{"input":1,"output":0,"reasoning":0,"cached":0,"cache_write":0,"total":1}}"#,
        ] {
            assert!(parse(other.as_bytes()).is_none(), "{other}");
        }
        assert!(parse(br#"{"id":"0194362a-8a00-7000-8000-000000000001","occurred_at":"2025-01-04T09:15:00Z","event":"request"}"#).is_some());
    }
}
