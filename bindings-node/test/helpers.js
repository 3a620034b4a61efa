'use strict';
// Shared helpers of the node --test suites.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const T0 = 1736000000000;

function tmpDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usagebook-node-'));
  if (t) t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function log(bridgeId, p, c, extra = {}) {
  return { bridgeId, usage: { promptTokens: p, completionTokens: c, totalTokens: p + c }, ...extra };
}

// The JSON form of what a tracker returns: Dates as ISO strings (T7), and
// absent keys stay absent.
function json(v) {
  return JSON.parse(JSON.stringify(v));
}

function statsFile(dir) {
  const p = path.join(dir, 'llm-usage', 'usage-stats.json');
  return fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')) : undefined;
}

function logLines(dir) {
  const p = path.join(dir, 'llm-usage', 'usage-logs.jsonl');
  if (!fs.existsSync(p)) return undefined;
  return fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.length > 0);
}

async function until(what, cond, ms = 10000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

module.exports = { T0, tmpDir, log, json, statsFile, logLines, until };
