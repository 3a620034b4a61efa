// Writes a corpus of Claude Code session logs to DIR/projects/ (the layout
// of ~/.claude: `ccusage` reads it with CLAUDE_CONFIG_DIR=DIR, usagebook
// with `import --from claude-code DIR`). Deterministic: the same files
// every run. The lines have the shape Claude Code writes (FORMATS-EXTERNAL
// §7), and the corpus has every case the two tools must agree on:
//
// - several projects and sessions, a subagent's log in a subdirectory;
// - days across a month boundary (Oct 31 / Nov 1, 2025) and a year
//   boundary (Dec 31 / Jan 1), requests a millisecond either side of
//   midnight UTC;
// - sonnet, opus and haiku models, and two models only ccusage's price
//   map has (claude-opus-4-1, claude-sonnet-4; not in LiteLLM 1.110.2);
// - cache writes (5-minute) and cache reads;
// - streaming duplicates: one API message logged once per content block
//   (same message.id + requestId); a later snapshot of a message with
//   more output tokens (the first copy counts); a resumed session that
//   copies lines of another session's file;
// - an old-version session with costUSD and without requestId (never
//   deduplicated, so its repeated line counts twice for both tools);
// - user, summary and system lines, a <synthetic> message, an assistant
//   line without a model, and malformed lines (cut JSON, usage without
//   output_tokens).
//
// Every request keeps its whole prompt (input + cache reads + cache
// writes) under 200k tokens: the tools price prompts above 200k
// differently (ccusage per token kind, LiteLLM by the whole prompt).
//
// Usage: node make-corpus.mjs DIR

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node make-corpus.mjs DIR');
  process.exit(2);
}

// mulberry32: a small seeded generator, so the corpus never changes.
let seed = 0x5eed;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const hex = (n) => Array.from({ length: n }, () => int(0, 15).toString(16)).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
const b62 = (n) => Array.from({ length: n }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789'[int(0, 57)]).join('');

const SONNET = 'claude-sonnet-4-5-20250929';
const OPUS = 'claude-opus-4-5-20251101';
const HAIKU = 'claude-haiku-4-5-20251001';
const OPUS_41 = 'claude-opus-4-1-20250805';
const SONNET_4 = 'claude-sonnet-4-20250514';

const files = new Map();
function emit(rel, line) {
  if (!files.has(rel)) files.set(rel, []);
  files.get(rel).push(typeof line === 'string' ? line : JSON.stringify(line));
}

function usage(model) {
  const heavy = model === OPUS || model === OPUS_41;
  const cacheRead = int(0, 4) === 0 ? 0 : int(8_000, heavy ? 120_000 : 150_000);
  const cacheWrite = int(0, 2) === 0 ? int(200, 25_000) : 0;
  const input = int(1, 60);
  return {
    input_tokens: input,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: int(1, 4_000),
    service_tier: 'standard',
  };
}

function base(s, at, type) {
  return {
    parentUuid: s.last,
    isSidechain: s.sidechain ?? false,
    userType: 'external',
    cwd: s.cwd,
    sessionId: s.id,
    version: s.version ?? '2.0.14',
    gitBranch: 'main',
    type,
    uuid: uuid(),
    timestamp: new Date(at).toISOString(),
  };
}

function userLine(s, at, text = 'please fix the failing test') {
  const l = { ...base(s, at, 'user'), message: { role: 'user', content: text } };
  s.last = l.uuid;
  return l;
}

/** One API message: one line per content block, the same ids and usage. */
function assistantLines(s, at, model, { blocks = int(1, 3), withRequestId = true, costUSD, u = usage(model) } = {}) {
  const msgId = `msg_01${b62(22)}`;
  const reqId = `req_011${b62(21)}`;
  const kinds = ['thinking', 'text', 'tool_use'];
  const lines = [];
  for (let b = 0; b < blocks; b++) {
    const l = {
      ...base(s, at + b * 250, 'assistant'),
      message: {
        id: msgId,
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: kinds[b % 3], text: 'working on it' }],
        stop_reason: null,
        stop_sequence: null,
        usage: u,
      },
    };
    if (withRequestId) l.requestId = reqId;
    if (costUSD != null) l.costUSD = costUSD;
    s.last = l.uuid;
    lines.push(l);
  }
  return lines;
}

/** A session of `turns` user/assistant turns from `start`, `step` ms apart. */
function session(rel, s, start, turns, models, step = 7 * 60_000, opts = {}) {
  let at = start;
  for (let t = 0; t < turns; t++) {
    emit(rel, userLine(s, at));
    const model = models[t % models.length];
    for (const l of assistantLines(s, at + 4_000, model, opts)) emit(rel, l);
    at += step;
  }
  return at;
}

const T = (iso) => Date.parse(iso);

// Project 1: a web app.
{
  const cwd = '/home/dev/webapp';
  const p = '-home-dev-webapp';
  // S1 crosses midnight UTC Oct 30/31.
  const s1 = { id: uuid(), cwd, last: null };
  const s1file = `${p}/${s1.id}.jsonl`;
  emit(s1file, { type: 'summary', summary: 'Fix the login form', leafUuid: uuid() });
  session(s1file, s1, T('2025-10-30T22:10:00.000Z'), 24, [SONNET, SONNET, HAIKU]);
  // A later streaming snapshot of its last message, more output: the first
  // copy is the one that counts.
  const lines1 = files.get(s1file);
  const last = JSON.parse(lines1[lines1.length - 1]);
  const snap = structuredClone(last);
  snap.uuid = uuid();
  snap.timestamp = new Date(Date.parse(last.timestamp) + 900).toISOString();
  snap.message.usage = { ...snap.message.usage, output_tokens: snap.message.usage.output_tokens + 321 };
  emit(s1file, snap);

  // S2 crosses the month boundary Oct 31 / Nov 1, with a subagent.
  const s2 = { id: uuid(), cwd, last: null };
  const s2file = `${p}/${s2.id}.jsonl`;
  session(s2file, s2, T('2025-10-31T23:31:00.000Z'), 10, [OPUS, HAIKU], 4 * 60_000);
  // A millisecond either side of midnight.
  for (const l of assistantLines(s2, T('2025-10-31T23:59:59.999Z') - 500, OPUS, { blocks: 1 })) emit(s2file, l);
  for (const l of assistantLines(s2, T('2025-11-01T00:00:00.000Z'), OPUS, { blocks: 1 })) emit(s2file, l);
  const agent = { id: s2.id, cwd, last: null, sidechain: true };
  session(`${p}/${s2.id}/subagents/agent-${hex(8)}.jsonl`, agent, T('2025-11-01T00:05:00.000Z'), 6, [HAIKU, SONNET], 30_000);

  // S3 resumes S1: Claude Code copies S1's last lines into the new file
  // (same uuids, ids and times), then goes on (Nov 2).
  const s3 = { id: uuid(), cwd, last: null };
  const s3file = `${p}/${s3.id}.jsonl`;
  for (const l of lines1.slice(-12)) emit(s3file, l);
  session(s3file, s3, T('2025-11-02T09:00:00.000Z'), 12, [SONNET, OPUS]);
}

// Project 2: a CLI tool, older models, an old Claude Code version.
{
  const cwd = '/home/dev/cli-tool';
  const p = '-home-dev-cli-tool';
  // Models only ccusage's map prices: usagebook marks them unpriced.
  const s4 = { id: uuid(), cwd, last: null };
  session(`${p}/${s4.id}.jsonl`, s4, T('2025-11-01T14:00:00.000Z'), 14, [OPUS_41, SONNET_4, SONNET]);
  // An old version: costUSD on every line and no requestId, so nothing
  // is deduplicated; one line is written twice and counts twice.
  const s5 = { id: uuid(), cwd, last: null, version: '1.0.24' };
  const s5file = `${p}/${s5.id}.jsonl`;
  let at = T('2025-10-29T08:00:00.000Z');
  for (let t = 0; t < 10; t++) {
    emit(s5file, userLine(s5, at));
    const cost = Math.round(rand() * 0.4 * 1e6) / 1e6;
    for (const l of assistantLines(s5, at + 3_000, SONNET, { blocks: 1, withRequestId: false, costUSD: cost })) emit(s5file, l);
    at += 11 * 60_000;
  }
  const s5lines = files.get(s5file);
  emit(s5file, s5lines[s5lines.length - 1]);
}

// Project 3: notes, with the odd lines, and the year boundary.
{
  const cwd = '/home/dev/notes';
  const p = '-home-dev-notes';
  const s6 = { id: uuid(), cwd, last: null };
  const f = `${p}/${s6.id}.jsonl`;
  emit(f, { type: 'summary', summary: 'Reorganise the notes', leafUuid: uuid() });
  let at = session(f, s6, T('2025-12-31T23:20:00.000Z'), 6, [HAIKU, SONNET], 6 * 60_000);
  for (const l of assistantLines(s6, T('2025-12-31T23:59:59.999Z'), HAIKU, { blocks: 1 })) emit(f, l);
  for (const l of assistantLines(s6, T('2026-01-01T00:00:00.000Z'), HAIKU, { blocks: 2 })) emit(f, l);
  // A system line, a <synthetic> message (Claude Code's own, zero usage).
  emit(f, { ...base(s6, at, 'system'), content: 'Conversation compacted', level: 'info' });
  const synthetic = assistantLines(s6, at + 1_000, '<synthetic>', {
    blocks: 1,
    u: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  })[0];
  synthetic.isApiErrorMessage = false;
  emit(f, synthetic);
  // An assistant line without a model.
  const nomodel = assistantLines(s6, at + 2_000, HAIKU, { blocks: 1 })[0];
  delete nomodel.message.model;
  emit(f, nomodel);
  // Malformed: cut JSON (a write cut short), usage without output_tokens.
  const cut = JSON.stringify(assistantLines(s6, at + 3_000, HAIKU, { blocks: 1 })[0]);
  emit(f, cut.slice(0, cut.length / 2));
  const noOut = assistantLines(s6, at + 4_000, HAIKU, { blocks: 1 })[0];
  delete noOut.message.usage.output_tokens;
  emit(f, noOut);
  emit(f, userLine(s6, at + 5_000, 'thanks'));
  session(f, s6, at + 60_000, 4, [SONNET]);
}

let lines = 0;
for (const [rel, ls] of files) {
  const path = join(dir, 'projects', rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, ls.join('\n') + '\n');
  lines += ls.length;
}
console.log(`corpus: ${files.size} files, ${lines} lines in ${join(dir, 'projects')}`);
