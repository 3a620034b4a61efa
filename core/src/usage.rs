//! The one usage vocabulary of usagebook (U-series; docs/usage.md), used by
//! the tracker, the ledger, the event log, the reports and the pricing.
//!
//! Totals are *inclusive*, as the OpenTelemetry GenAI conventions define
//! them: `input` counts every input token processed (cache reads and cache
//! writes included), `output` every output token (reasoning included). The
//! other counts are *parts* of those totals. Every provider SDK's shape is
//! read by one adapter here, so no binding has its own idea of what
//! `input_tokens` means (it means different things to OpenAI and
//! Anthropic).

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// Token and media counts of one call, inclusive totals plus parts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenUsage {
    /// Every input token processed, cache reads and writes included.
    pub input: u64,
    /// Every output token, reasoning included.
    pub output: u64,
    /// Part of `input`: tokens read from the prompt cache.
    pub cache_read: u64,
    /// Part of `input`: tokens written to the prompt cache (all TTLs).
    pub cache_write: u64,
    /// Part of `cache_write`: written with the 1-hour TTL.
    pub cache_write_1h: u64,
    /// Part of `cache_write`: written with the 12-hour TTL (OpenAI's
    /// extended retention). The rest of `cache_write` is 5-minute.
    pub cache_write_12h: u64,
    /// Part of `output`: reasoning ("thinking") tokens.
    pub reasoning: u64,
    /// Part of `input`: audio tokens.
    pub input_audio: u64,
    /// Part of `output`: audio tokens.
    pub output_audio: u64,
    /// Part of `input`: image tokens.
    pub input_image: u64,
    /// Images generated (per-image prices).
    pub images: u64,
    /// Seconds of audio or video (per-second prices).
    pub seconds: f64,
    /// Input characters (per-character prices).
    pub characters: u64,
    /// The call's total as the provider reported it; `None` = input + output.
    pub total: Option<u64>,
    /// The service tier the response names (`priority`, `flex`, `batch`).
    pub service_tier: Option<String>,
    /// Where the call was served (Anthropic's `inference_geo`, e.g. `us`):
    /// some models charge a regional multiplier.
    pub inference_geo: Option<String>,
    /// Anthropic's `speed` (`fast` costs a multiple on some models).
    pub speed: Option<String>,
    /// Counts we do not interpret, kept under their own names.
    pub other: Map<String, Value>,
}

/// Which provider convention a usage value was read as (for messages and
/// tests; the numbers are already normalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageShape {
    /// Our own canonical form (`input`, `output`, `cache_read`, ...).
    Canonical,
    /// The tracker's T1 camelCase (`promptTokens`, ...).
    Tracker,
    /// The ledger's first vocabulary (`tokens_in`, `tokens_out`, ...).
    LedgerLegacy,
    /// OpenAI Chat Completions and LiteLLM `Usage` (`prompt_tokens`, ...).
    OpenAiChat,
    /// OpenAI Responses (`input_tokens` with `*_tokens_details`).
    OpenAiResponses,
    /// Anthropic Messages (`input_tokens` excludes cache reads and writes).
    Anthropic,
    /// Google Gemini `usageMetadata` (camelCase or the Python SDK's snake_case).
    Gemini,
    /// AWS Bedrock Converse (`inputTokens`, `cacheReadInputTokens`, ...).
    Bedrock,
}

impl UsageShape {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageShape::Canonical => "usagebook",
            UsageShape::Tracker => "tracker",
            UsageShape::LedgerLegacy => "ledger",
            UsageShape::OpenAiChat => "openai-chat",
            UsageShape::OpenAiResponses => "openai-responses",
            UsageShape::Anthropic => "anthropic",
            UsageShape::Gemini => "gemini",
            UsageShape::Bedrock => "bedrock",
        }
    }
}

/// What a whole response object (or a bare usage value) gave us.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadUsage {
    pub usage: TokenUsage,
    pub shape: UsageShape,
    /// The response's `model` (or Gemini's `modelVersion`), when given.
    pub model: Option<String>,
}

/// Deepest nesting we follow; deeper values are refused, not recursed into.
const MAX_DEPTH: usize = 8;

/// A token count: an integer >= 0 (`null` = not reported = 0). Floats are
/// refused even when whole: every SDK reports integers, and a float is a
/// sign of a unit mix-up.
fn count(v: &Value, path: &str) -> Result<u64> {
    match v {
        Value::Null => Ok(0),
        Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or(0)),
        other => Err(Error::invalid(format!(
            "usage.{path} must be an integer >= 0, got {other}"
        ))),
    }
}

fn seconds(v: &Value, path: &str) -> Result<f64> {
    match v {
        Value::Null => Ok(0.0),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && f >= 0.0 => Ok(f),
            _ => Err(Error::invalid(format!(
                "usage.{path} must be a number >= 0, got {n}"
            ))),
        },
        other => Err(Error::invalid(format!(
            "usage.{path} must be a number >= 0, got {other}"
        ))),
    }
}

struct Reader<'a> {
    o: &'a Map<String, Value>,
    prefix: &'a str,
}

impl<'a> Reader<'a> {
    fn has(&self, k: &str) -> bool {
        self.o.get(k).is_some_and(|v| !v.is_null())
    }
    fn get(&self, k: &str) -> Result<u64> {
        match self.o.get(k) {
            None => Ok(0),
            Some(v) => count(v, &format!("{}{k}", self.prefix)),
        }
    }
    /// A shape's main count: absent is 0, but present as `null` is an
    /// error (the caller meant to report it).
    fn main(&self, k: &str) -> Result<u64> {
        match self.o.get(k) {
            Some(Value::Null) => Err(Error::invalid(format!(
                "usage.{}{k} must be an integer >= 0, got null",
                self.prefix
            ))),
            _ => self.get(k),
        }
    }
    fn sub(&self, k: &str) -> Result<Option<&'a Map<String, Value>>> {
        match self.o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(Error::invalid(format!(
                "usage.{}{k} must be an object, got {v}",
                self.prefix
            ))),
        }
    }
    fn sub_get(&self, k: &str, field: &str) -> Result<u64> {
        match self.sub(k)? {
            None => Ok(0),
            Some(m) => match m.get(field) {
                None => Ok(0),
                Some(v) => count(v, &format!("{}{k}.{field}", self.prefix)),
            },
        }
    }
}

fn add(a: u64, b: u64, what: &str) -> Result<u64> {
    a.checked_add(b)
        .ok_or_else(|| Error::invalid(format!("usage: {what} does not fit in 64 bits")))
}

fn tier(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Keys each shape interprets; the rest of a numeric top level goes to
/// `other` so nothing the caller gave is thrown away.
const KNOWN: &[&str] = &[
    "input",
    "output",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "cache_write_12h",
    "reasoning",
    "input_audio",
    "output_audio",
    "input_image",
    "images",
    "seconds",
    "characters",
    "total",
    "service_tier",
    "inference_geo",
    "speed",
    "output_tokens_details",
    "promptTokens",
    "completionTokens",
    "totalTokens",
    "cacheReadTokens",
    "cacheWriteTokens",
    "reasoningTokens",
    "tokens_in",
    "tokens_out",
    "cached_tokens",
    "tokens_cached",
    "reasoning_tokens",
    "audio_seconds",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
    "input_tokens",
    "output_tokens",
    "input_tokens_details",
    "output_tokens_details",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "cache_creation",
    "server_tool_use",
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "toolUsePromptTokenCount",
    "totalTokenCount",
    "cachedContentTokenCount",
    "promptTokensDetails",
    "candidatesTokensDetails",
    "cacheTokensDetails",
    "toolUsePromptTokensDetails",
    "trafficType",
    "prompt_token_count",
    "candidates_token_count",
    "thoughts_token_count",
    "tool_use_prompt_token_count",
    "total_token_count",
    "cached_content_token_count",
    "prompt_tokens_details_list",
    "inputTokens",
    "outputTokens",
    "totalTokens",
    "cacheReadInputTokens",
    "cacheWriteInputTokens",
    "cache_creation_tokens",
    "cacheDetails",
];

/// Names inside the nested detail objects and around a usage in a whole
/// response. With [`KNOWN`] these are every name an adapter reads: a
/// binding reading an object by attributes (no `model_dump`) asks for these.
const NESTED: &[&str] = &[
    "cached_tokens",
    "audio_tokens",
    "image_tokens",
    "text_tokens",
    "reasoning_tokens",
    "accepted_prediction_tokens",
    "rejected_prediction_tokens",
    "cache_creation_tokens",
    "cache_write_tokens",
    "cache_write_tokens_details",
    "cache_creation_token_details",
    "ttl_12h_tokens",
    "ttl_30m_tokens",
    "ephemeral_5m_input_tokens",
    "ephemeral_1h_input_tokens",
    "ephemeral_12h_input_tokens",
    "usage",
    "usageMetadata",
    "usage_metadata",
    "model",
    "modelVersion",
    "model_version",
    "thinking_tokens",
];

/// Every attribute name the adapters read, for bindings that read objects
/// attribute by attribute.
pub fn attribute_names() -> impl Iterator<Item = &'static str> {
    KNOWN.iter().chain(NESTED.iter()).copied()
}

impl TokenUsage {
    /// Reads a usage value or a whole response object in any shape we know
    /// (U2). A value with no token field we recognise is an error naming the
    /// keys it had: it is never priced $0.
    pub fn read(v: &Value) -> Result<ReadUsage> {
        let o = v.as_object().ok_or_else(|| {
            Error::invalid(format!(
                "usage must be an object (a provider SDK's usage or response), got {}",
                short(v)
            ))
        })?;
        check_depth(v, 0)?;
        // A whole response: its usage is under `usage` (OpenAI, Anthropic,
        // Bedrock, LiteLLM) or `usageMetadata`/`usage_metadata` (Gemini).
        for key in ["usage", "usageMetadata", "usage_metadata"] {
            if let Some(inner @ Value::Object(_)) = o.get(key) {
                let mut r = Self::read(inner)?;
                if r.model.is_none() {
                    r.model = ["model", "modelVersion", "model_version"]
                        .iter()
                        .find_map(|k| tier(o.get(*k)));
                }
                if r.usage.service_tier.is_none() {
                    r.usage.service_tier =
                        tier(o.get("service_tier")).or_else(|| tier(inner.get("service_tier")));
                }
                return Ok(r);
            }
        }
        let (usage, shape) = Self::read_usage(o)?;
        Ok(ReadUsage {
            usage,
            shape,
            model: None,
        })
    }

    /// [`TokenUsage::read`] for a bare usage value, shape dropped.
    pub fn from_value(v: &Value) -> Result<TokenUsage> {
        Self::read(v).map(|r| r.usage)
    }

    fn read_usage(o: &Map<String, Value>) -> Result<(TokenUsage, UsageShape)> {
        let r = Reader { o, prefix: "" };
        let mut u = TokenUsage {
            service_tier: tier(o.get("service_tier")),
            inference_geo: tier(o.get("inference_geo")),
            speed: tier(o.get("speed")),
            ..TokenUsage::default()
        };
        let shape;
        if r.has("input") || r.has("output") || r.has("cache_read") || r.has("cache_write") {
            shape = UsageShape::Canonical;
            u.input = r.main("input")?;
            u.output = r.main("output")?;
            u.cache_read = r.get("cache_read")?;
            u.cache_write = r.get("cache_write")?;
            u.cache_write_1h = r.get("cache_write_1h")?;
            u.cache_write_12h = r.get("cache_write_12h")?;
            u.reasoning = r.get("reasoning")?;
            u.input_audio = r.get("input_audio")?;
            u.output_audio = r.get("output_audio")?;
            u.input_image = r.get("input_image")?;
            if r.has("total") {
                u.total = Some(r.get("total")?);
            }
        } else if o.contains_key("promptTokens") || o.contains_key("completionTokens") {
            // T1: all three counts are required, the total kept as given.
            shape = UsageShape::Tracker;
            for k in ["promptTokens", "completionTokens", "totalTokens"] {
                if !o.contains_key(k) {
                    return Err(Error::invalid(format!("usage.{k} is missing")));
                }
            }
            u.input = r.main("promptTokens")?;
            u.output = r.main("completionTokens")?;
            u.total = Some(r.main("totalTokens")?);
            u.cache_read = r.get("cacheReadTokens")?;
            u.cache_write = r.get("cacheWriteTokens")?;
            u.reasoning = r.get("reasoningTokens")?;
        } else if r.has("tokens_in") || r.has("tokens_out") {
            shape = UsageShape::LedgerLegacy;
            u.input = r.get("tokens_in")?;
            u.output = r.get("tokens_out")?;
            u.cache_read = r.get("cached_tokens")?.max(r.get("tokens_cached")?);
            u.reasoning = r.get("reasoning_tokens")?;
        } else if o.contains_key("prompt_tokens") || o.contains_key("completion_tokens") {
            // OpenAI Chat Completions; LiteLLM's Usage has the same names and
            // folds Anthropic's cache tokens into prompt_tokens.
            shape = UsageShape::OpenAiChat;
            u.input = r.main("prompt_tokens")?;
            u.output = r.main("completion_tokens")?;
            u.cache_read = r
                .sub_get("prompt_tokens_details", "cached_tokens")?
                .max(r.get("cache_read_input_tokens")?);
            // OpenAI's SDK names cache writes `cache_write_tokens`;
            // LiteLLM `cache_creation_tokens` (and keeps Anthropic's name).
            u.cache_write = r
                .get("cache_creation_input_tokens")?
                .max(r.sub_get("prompt_tokens_details", "cache_creation_tokens")?)
                .max(r.sub_get("prompt_tokens_details", "cache_write_tokens")?);
            u.input_audio = r.sub_get("prompt_tokens_details", "audio_tokens")?;
            u.input_image = r.sub_get("prompt_tokens_details", "image_tokens")?;
            u.reasoning = r.sub_get("completion_tokens_details", "reasoning_tokens")?;
            u.output_audio = r.sub_get("completion_tokens_details", "audio_tokens")?;
            if let Some(cc) = r.sub("cache_creation")? {
                let c = Reader {
                    o: cc,
                    prefix: "cache_creation.",
                };
                u.cache_write_1h = c.get("ephemeral_1h_input_tokens")?;
                u.cache_write_12h = c.get("ephemeral_12h_input_tokens")?;
            }
            if let Some(d) = r.sub("prompt_tokens_details")? {
                let d = Reader {
                    o: d,
                    prefix: "prompt_tokens_details.",
                };
                if let Some(cc) = d.sub("cache_creation_token_details")? {
                    let c = Reader {
                        o: cc,
                        prefix: "prompt_tokens_details.cache_creation_token_details.",
                    };
                    u.cache_write_1h = u.cache_write_1h.max(c.get("ephemeral_1h_input_tokens")?);
                    u.cache_write_12h = u.cache_write_12h.max(c.get("ephemeral_12h_input_tokens")?);
                }
            }
            if r.has("total_tokens") {
                u.total = Some(r.get("total_tokens")?);
            }
        } else if o.contains_key("input_tokens") || o.contains_key("output_tokens") {
            let anthropic = r.has("cache_creation_input_tokens")
                || r.has("cache_read_input_tokens")
                || r.has("cache_creation")
                || r.has("server_tool_use");
            u.output = r.main("output_tokens")?;
            if anthropic {
                // Anthropic: input_tokens excludes cache reads and writes.
                shape = UsageShape::Anthropic;
                u.cache_read = r.get("cache_read_input_tokens")?;
                u.cache_write = r.get("cache_creation_input_tokens")?;
                if let Some(cc) = r.sub("cache_creation")? {
                    let c = Reader {
                        o: cc,
                        prefix: "cache_creation.",
                    };
                    let m5 = c.get("ephemeral_5m_input_tokens")?;
                    let h1 = c.get("ephemeral_1h_input_tokens")?;
                    let h12 = c.get("ephemeral_12h_input_tokens")?;
                    u.cache_write_1h = h1;
                    u.cache_write_12h = h12;
                    let all = add(add(m5, h1, "cache_creation")?, h12, "cache_creation")?;
                    u.cache_write = u.cache_write.max(all);
                }
                u.input = add(
                    add(r.main("input_tokens")?, u.cache_read, "input tokens")?,
                    u.cache_write,
                    "input tokens",
                )?;
                // Extended thinking, counted inside output_tokens.
                u.reasoning = r.sub_get("output_tokens_details", "thinking_tokens")?;
            } else {
                // OpenAI Responses (inclusive); a bare input/output pair
                // means the same under either convention.
                shape = UsageShape::OpenAiResponses;
                u.input = r.main("input_tokens")?;
                u.cache_read = r.sub_get("input_tokens_details", "cached_tokens")?;
                u.cache_write = r.sub_get("input_tokens_details", "cache_write_tokens")?;
                if let Some(d) = r.sub("input_tokens_details")? {
                    let d = Reader {
                        o: d,
                        prefix: "input_tokens_details.",
                    };
                    if let Some(w) = d.sub("cache_write_tokens_details")? {
                        // 30-minute writes bill at the base write price.
                        u.cache_write_12h = Reader {
                            o: w,
                            prefix: "input_tokens_details.cache_write_tokens_details.",
                        }
                        .get("ttl_12h_tokens")?;
                    }
                }
                u.input_audio = r.sub_get("input_tokens_details", "audio_tokens")?;
                u.reasoning = r.sub_get("output_tokens_details", "reasoning_tokens")?;
                u.output_audio = r.sub_get("output_tokens_details", "audio_tokens")?;
                if r.has("total_tokens") {
                    u.total = Some(r.get("total_tokens")?);
                }
            }
        } else if r.has("promptTokenCount")
            || r.has("candidatesTokenCount")
            || r.has("totalTokenCount")
        {
            shape = UsageShape::Gemini;
            read_gemini(
                &r,
                &mut u,
                [
                    "promptTokenCount",
                    "candidatesTokenCount",
                    "thoughtsTokenCount",
                    "toolUsePromptTokenCount",
                    "cachedContentTokenCount",
                    "totalTokenCount",
                ],
            )?;
        } else if r.has("prompt_token_count")
            || r.has("candidates_token_count")
            || r.has("total_token_count")
        {
            shape = UsageShape::Gemini;
            read_gemini(
                &r,
                &mut u,
                [
                    "prompt_token_count",
                    "candidates_token_count",
                    "thoughts_token_count",
                    "tool_use_prompt_token_count",
                    "cached_content_token_count",
                    "total_token_count",
                ],
            )?;
        } else if r.has("inputTokens") || r.has("outputTokens") {
            // Bedrock Converse: inputTokens excludes the cache reads and
            // writes (totalTokens is the sum of all four).
            shape = UsageShape::Bedrock;
            u.cache_read = r.get("cacheReadInputTokens")?;
            u.cache_write = r.get("cacheWriteInputTokens")?;
            u.input = add(
                add(r.get("inputTokens")?, u.cache_read, "input tokens")?,
                u.cache_write,
                "input tokens",
            )?;
            u.output = r.get("outputTokens")?;
            if r.has("totalTokens") {
                u.total = Some(r.get("totalTokens")?);
            }
        } else {
            let mut keys: Vec<String> = o
                .keys()
                .take(20)
                .map(|k| crate::limits::clip(k).into_owned())
                .collect();
            if o.len() > 20 {
                keys.push(format!("and {} more", o.len() - 20));
            }
            return Err(Error::invalid(format!(
                "usage has no token count usagebook recognises (keys: {}); pass a provider SDK's usage (prompt_tokens/completion_tokens, input_tokens/output_tokens, promptTokenCount, inputTokens) or promptTokens/completionTokens",
                if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
            )));
        }
        // Media units and open extras, in any shape.
        u.images = r.get("images")?;
        u.characters = r.get("characters")?;
        for k in ["seconds", "audio_seconds"] {
            if let Some(v) = o.get(k) {
                u.seconds = u.seconds.max(seconds(v, k)?);
            }
        }
        for (k, v) in o {
            if KNOWN.contains(&k.as_str()) || v.is_null() {
                continue;
            }
            if let Value::Number(n) = v {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 => {
                        u.other.insert(k.clone(), v.clone());
                    }
                    _ => {
                        return Err(Error::invalid(format!(
                            "usage.{k} must be a number >= 0, got {v}"
                        )))
                    }
                }
            }
            // Non-numeric extras (ids, nested provider detail) are not counts.
        }
        u.check()?;
        Ok((u, shape))
    }

    /// Parts never exceed the totals they belong to.
    fn check(&self) -> Result<()> {
        let input_parts = self
            .cache_read
            .checked_add(self.cache_write)
            .ok_or_else(|| Error::invalid("usage: cache tokens do not fit in 64 bits"))?;
        if input_parts > self.input {
            return Err(Error::invalid(format!(
                "usage: cache reads ({}) plus cache writes ({}) exceed the input tokens ({})",
                self.cache_read, self.cache_write, self.input
            )));
        }
        if self.cache_write_1h.saturating_add(self.cache_write_12h) > self.cache_write {
            return Err(Error::invalid(format!(
                "usage: 1-hour ({}) plus 12-hour ({}) cache writes exceed the cache writes ({})",
                self.cache_write_1h, self.cache_write_12h, self.cache_write
            )));
        }
        if self.reasoning > self.output {
            return Err(Error::invalid(format!(
                "usage: reasoning tokens ({}) exceed the output tokens ({})",
                self.reasoning, self.output
            )));
        }
        Ok(())
    }

    /// What the tracker records: the T1 counts (`promptTokens` = inclusive
    /// input, `completionTokens` = output, `totalTokens` as reported) and
    /// the parts it keeps (cache reads, cache writes of every TTL,
    /// reasoning).
    pub fn to_tracker(&self) -> crate::model::Usage {
        crate::model::Usage {
            prompt_tokens: self.input,
            completion_tokens: self.output,
            total_tokens: self.total(),
            cache_read_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            reasoning_tokens: self.reasoning,
        }
    }

    /// `input + output` unless the provider reported its own total.
    pub fn total(&self) -> u64 {
        self.total
            .unwrap_or_else(|| self.input.saturating_add(self.output))
    }

    /// True when nothing at all was counted.
    pub fn is_empty(&self) -> bool {
        self.input == 0
            && self.output == 0
            && self.images == 0
            && self.seconds == 0.0
            && self.characters == 0
            && self.other.is_empty()
    }

    /// The canonical JSON form: `input` and `output` always, parts when not
    /// zero, then the extras. This is what the ledger stores.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("input".into(), self.input.into());
        m.insert("output".into(), self.output.into());
        let parts = [
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("cache_write_1h", self.cache_write_1h),
            ("cache_write_12h", self.cache_write_12h),
            ("reasoning", self.reasoning),
            ("input_audio", self.input_audio),
            ("output_audio", self.output_audio),
            ("input_image", self.input_image),
            ("images", self.images),
            ("characters", self.characters),
        ];
        for (k, v) in parts {
            if v != 0 {
                m.insert(k.into(), v.into());
            }
        }
        if self.seconds != 0.0 {
            m.insert("seconds".into(), self.seconds.into());
        }
        if let Some(t) = self.total {
            m.insert("total".into(), t.into());
        }
        for (k, v) in [
            ("service_tier", &self.service_tier),
            ("inference_geo", &self.inference_geo),
            ("speed", &self.speed),
        ] {
            if let Some(t) = v {
                m.insert(k.into(), Value::String(t.clone()));
            }
        }
        for (k, v) in &self.other {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }
}

fn read_gemini(r: &Reader<'_>, u: &mut TokenUsage, k: [&str; 6]) -> Result<()> {
    // promptTokenCount includes the cached content; thoughts are NOT in
    // candidates, and tool-use prompt tokens are input outside the prompt.
    u.cache_read = r.get(k[4])?;
    u.input = add(r.get(k[0])?, r.get(k[3])?, "input tokens")?;
    u.reasoning = r.get(k[2])?;
    u.output = add(r.get(k[1])?, u.reasoning, "output tokens")?;
    if r.has(k[5]) {
        u.total = Some(r.get(k[5])?);
    }
    Ok(())
}

fn check_depth(v: &Value, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid(format!(
            "usage is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    match v {
        Value::Object(m) => m.values().try_for_each(|x| check_depth(x, depth + 1)),
        Value::Array(a) => a.iter().try_for_each(|x| check_depth(x, depth + 1)),
        _ => Ok(()),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        let mut end = 80;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> TokenUsage {
        TokenUsage::from_value(&v).unwrap()
    }

    #[test]
    fn u2_openai_chat_is_inclusive_with_details() {
        let u = read(
            json!({"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
            "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 200, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}),
        );
        assert_eq!(
            (u.input, u.output, u.cache_read, u.reasoning),
            (1200, 300, 1000, 200)
        );
        assert_eq!(u.total(), 1500);
    }

    #[test]
    fn u2_anthropic_input_excludes_cache_so_we_add_it() {
        // 6200 input tokens processed: 200 plain + 5000 written + 1000 read.
        let r = TokenUsage::read(&json!({"input_tokens": 200, "output_tokens": 50,
            "cache_creation_input_tokens": 5000, "cache_read_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 4000, "ephemeral_1h_input_tokens": 1000},
            "service_tier": "standard"}))
        .unwrap();
        assert_eq!(r.shape, UsageShape::Anthropic);
        let u = r.usage;
        assert_eq!(
            (u.input, u.cache_write, u.cache_write_1h, u.cache_read),
            (6200, 5000, 1000, 1000)
        );
        assert_eq!(u.total(), 6250);
    }

    #[test]
    fn u2_responses_gemini_bedrock_tracker_legacy() {
        let u = read(
            json!({"input_tokens": 100, "output_tokens": 40, "total_tokens": 140,
            "input_tokens_details": {"cached_tokens": 64}, "output_tokens_details": {"reasoning_tokens": 30}}),
        );
        assert_eq!(
            (u.input, u.cache_read, u.output, u.reasoning),
            (100, 64, 40, 30)
        );
        let u = read(json!({"promptTokenCount": 500, "candidatesTokenCount": 80,
            "thoughtsTokenCount": 20, "cachedContentTokenCount": 300, "totalTokenCount": 600}));
        assert_eq!(
            (u.input, u.output, u.reasoning, u.cache_read),
            (500, 100, 20, 300)
        );
        let u = read(json!({"prompt_token_count": 5, "candidates_token_count": 2}));
        assert_eq!((u.input, u.output), (5, 2));
        let u = read(
            json!({"inputTokens": 10, "outputTokens": 5, "totalTokens": 45,
            "cacheReadInputTokens": 20, "cacheWriteInputTokens": 10}),
        );
        assert_eq!(
            (u.input, u.cache_read, u.cache_write, u.total()),
            (40, 20, 10, 45)
        );
        let u = read(json!({"promptTokens": 7, "completionTokens": 3, "totalTokens": 10}));
        assert_eq!((u.input, u.output), (7, 3));
        let u = read(json!({"tokens_in": 7, "tokens_out": 3, "cached_tokens": 2, "images": 1}));
        assert_eq!((u.input, u.output, u.cache_read, u.images), (7, 3, 2, 1));
    }

    #[test]
    fn u2_openai_cache_writes_as_the_sdk_names_them() {
        let u = read(
            json!({"input_tokens": 10000, "output_tokens": 10, "total_tokens": 10010,
            "input_tokens_details": {"cached_tokens": 2000, "cache_write_tokens": 3000,
                "cache_write_tokens_details": {"ttl_12h_tokens": 1000, "ttl_30m_tokens": 2000}},
            "output_tokens_details": {"reasoning_tokens": 0}}),
        );
        assert_eq!(
            (u.cache_read, u.cache_write, u.cache_write_12h),
            (2000, 3000, 1000)
        );
        let u = read(json!({"prompt_tokens": 100, "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 20}}));
        assert_eq!((u.cache_read, u.cache_write), (10, 20));
    }

    #[test]
    fn u2_whole_responses_give_usage_and_model() {
        let r = TokenUsage::read(&json!({"id": "chatcmpl-1", "object": "chat.completion",
            "model": "gpt-4o-2024-08-06", "service_tier": "flex", "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}))
        .unwrap();
        assert_eq!(r.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(r.usage.service_tier.as_deref(), Some("flex"));
        assert_eq!(r.usage.input, 3);
        let r = TokenUsage::read(&json!({"modelVersion": "gemini-2.5-pro",
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 1}}))
        .unwrap();
        assert_eq!(
            (r.model.as_deref(), r.usage.input),
            (Some("gemini-2.5-pro"), 9)
        );
    }

    #[test]
    fn u2_unrecognised_usage_names_its_keys_never_zero() {
        let e = TokenUsage::from_value(&json!({"tokens": 5, "cost": 1})).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("tokens") && s.contains("cost"), "{s}");
        assert!(TokenUsage::from_value(&json!({}))
            .unwrap_err()
            .to_string()
            .contains("none"));
        assert!(TokenUsage::from_value(&json!(5)).is_err());
        let e = TokenUsage::from_value(&json!({"prompt_tokens": -1})).unwrap_err();
        assert!(e.to_string().contains("usage.prompt_tokens"), "{e}");
        let e = TokenUsage::from_value(
            &json!({"prompt_tokens": 1, "prompt_tokens_details": {"cached_tokens": 5}}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("exceed"), "{e}");
    }

    #[test]
    fn u1_canonical_form_round_trips() {
        let u = read(json!({"input_tokens": 200, "output_tokens": 50,
            "cache_creation_input_tokens": 5000, "cache_read_input_tokens": 1000, "web_search_requests": 2}));
        let back = read(u.to_json());
        assert_eq!(back, u);
        assert_eq!(u.other.get("web_search_requests"), Some(&json!(2)));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut v = json!({"prompt_tokens": 1});
        for _ in 0..20 {
            v = json!({"x": v});
        }
        let mut top = json!({"prompt_tokens": 1});
        top["deep"] = v;
        assert!(TokenUsage::from_value(&top)
            .unwrap_err()
            .to_string()
            .contains("nested"));
    }
}
