'use strict';
// Cross-device sync through git from Node (issue 13; G1-G6), with real git:
// a bare remote that refuses non-fast-forward pushes and deletions (any
// force-push fails the test), several device trackers (their own base
// directories and clones) writing to it; then the merged view from every
// device equals the union of what each tracked, with no duplicates, and
// `git fsck` is clean.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { FileBackedLlmUsageTracker, InMemoryLlmUsageTracker, ErrorCodes } = require('..');
const { tmpDir, log } = require('./helpers');

function git(cwd, ...args) {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function bareRemote(dir) {
  fs.mkdirSync(dir);
  git(dir, 'init', '--quiet', '--bare');
  git(dir, 'config', 'receive.denyNonFastForwards', 'true');
  git(dir, 'config', 'receive.denyDeletes', 'true');
  git(dir, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  return dir;
}

function device(root, name, remote, extra = {}) {
  return new FileBackedLlmUsageTracker(path.join(root, name, 'state'), {
    durability: 'process',
    gitSync: {
      repoDir: path.join(root, name, 'repo'),
      remote,
      branch: 'main',
      syncInterval: '0m',
      ...extra,
    },
  });
}

// A small deterministic generator (the test must be repeatable).
function rng(seed) {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

function trackRandom(t, r, n) {
  const bridges = ['openai', 'anthropic', 'gemini'];
  for (let i = 0; i < n; i++) {
    t.trackUsage(log(bridges[r(3)], 1 + r(500), r(300), { durationMs: 1 + r(900), status: r(10) === 0 ? 'error' : 'success' }));
  }
}

const totals = (s) => [s.totalRequests, s.promptTokens, s.completionTokens, s.totalTokens, s.errorCount];

async function checkSettled(root, remote, devices) {
  const local = {};
  for (const t of devices) {
    const s = t.getUsageStats();
    if (s.totalRequests > 0) local[t.health().gitSync.deviceId] = totals(s);
  }
  const union = [0, 1, 2, 3, 4].map((i) => Object.values(local).reduce((a, v) => a + v[i], 0));
  for (const t of devices) {
    const m = await t.getMergedStats();
    assert.deepEqual(totals(m.total), union);
    assert.deepEqual(Object.fromEntries(Object.entries(m.devices).map(([k, v]) => [k, totals(v)])), local);
    assert.equal(Object.values(m.bridges).reduce((a, v) => a + v.totalRequests, 0), union[0]);
    assert.deepEqual(m.notes, []); // no duplicates, nothing malformed
    assert.ok(m.total.lastUsedAt instanceof Date);
  }
  git(remote, 'fsck', '--no-progress', '--strict');
  for (const name of fs.readdirSync(root)) {
    const repo = path.join(root, name, 'repo');
    if (!fs.existsSync(repo)) continue;
    git(repo, 'fsck', '--no-progress');
    git(repo, 'fetch', '--quiet', 'origin');
    // Every commit the device made is reachable from the remote branch.
    git(repo, 'merge-base', '--is-ancestor', 'main', 'origin/main');
  }
}

test('G2 G3 three devices, syncing one after another and all at once, share one merged view', async (t) => {
  const dir = tmpDir(t);
  const remote = bareRemote(path.join(dir, 'remote.git'));
  const root = path.join(dir, 'devices');
  const devices = [0, 1, 2].map((i) => device(root, `d${i}`, remote));
  t.after(() => Promise.all(devices.map((d) => d.close())));
  const r = rng(13);
  for (const d of devices) {
    trackRandom(d, r, 40);
    const rep = await d.syncNow();
    assert.equal(rep.pushed, true, JSON.stringify(rep));
    assert.equal(rep.offline, false);
    assert.equal(rep.ahead, 0);
  }
  // At once: pushes are rejected and retried (never forced).
  await Promise.all(
    devices.map(async (d, i) => {
      const ri = rng(100 + i);
      for (let k = 0; k < 4; k++) {
        trackRandom(d, ri, 10);
        await d.syncNow();
      }
    }),
  );
  for (const d of devices) await d.syncNow();
  await checkSettled(root, remote, devices);
  const h = devices[0].health().gitSync;
  assert.equal(h.failures, 0);
  assert.equal(h.pendingCommits, 0);
  assert.equal(h.lastError, null);
  assert.ok(h.lastSyncAt instanceof Date && h.lastOkAt instanceof Date);
  // Syncing again duplicates nothing.
  const before = totals((await devices[1].getMergedStats()).total);
  assert.equal((await devices[1].syncNow()).committed, false);
  assert.deepEqual(totals((await devices[1].getMergedStats()).total), before);
});

test('G3 close syncs; a new device starts from the remote; a reopened one keeps its id', async (t) => {
  const dir = tmpDir(t);
  const remote = bareRemote(path.join(dir, 'remote.git'));
  const root = path.join(dir, 'devices');
  let a = device(root, 'a', remote);
  const ida = a.health().gitSync.deviceId;
  a.trackUsage(log('openai', 3, 4));
  await a.close(); // the final sync pushes it
  const b = device(root, 'b', remote);
  t.after(() => b.close());
  assert.deepEqual(totals((await b.getMergedStats()).devices[ida]), [1, 3, 4, 7, 0]);
  a = device(root, 'a', remote);
  t.after(() => a.close());
  assert.equal(a.health().gitSync.deviceId, ida);
  await a.syncNow();
  await b.syncNow();
  await checkSettled(root, remote, [a, b]);
});

test('G1 G4 G5 options: named errors, disabled = local only, a path outside the repository refused', async (t) => {
  const dir = tmpDir(t);
  const repo = path.join(dir, 'repo');
  const open = (n, gitSync) => new FileBackedLlmUsageTracker(path.join(dir, n), { gitSync });
  assert.throws(() => open('s1', { repoDir: repo, syncinterval: '1m' }), (e) => e instanceof TypeError && /gitSync\.syncinterval/.test(e.message) && e.code === ErrorCodes.INVALID_ARGUMENT);
  assert.throws(() => open('s2', { repoDir: repo, syncInterval: 'soon' }), /gitSync\.syncInterval/);
  assert.throws(() => open('s3', { remote: 'x' }), /gitSync\.repoDir/);
  assert.throws(() => open('s4', { repoDir: repo, path: '../usage.json' }), /gitSync\.path .*outside the repository/);
  assert.equal(fs.existsSync(repo), false);
  const off = open('s5', { repoDir: repo, enabled: false });
  off.trackUsage(log('openai', 1, 1));
  assert.equal(off.health().gitSync, null);
  await assert.rejects(off.syncNow(), (e) => e instanceof TypeError && /no git sync/.test(e.message));
  await assert.rejects(off.getMergedStats(), /no git sync/);
  await off.close();
  await assert.rejects(off.syncNow(), (e) => e.code === ErrorCodes.CLOSED);
  assert.equal(fs.existsSync(repo), false);
  assert.equal(new InMemoryLlmUsageTracker().health().gitSync, null);
});

test('health: failures in a row and pending commits while offline, then caught up', async (t) => {
  const dir = tmpDir(t);
  const remote = bareRemote(path.join(dir, 'remote.git'));
  const d = device(dir, 'd', remote, { deviceId: 'laptop' });
  t.after(() => d.close());
  d.trackUsage(log('openai', 1, 1));
  assert.equal((await d.syncNow()).pushed, true);
  const away = path.join(dir, 'away.git');
  fs.renameSync(remote, away);
  for (let i = 0; i < 2; i++) {
    d.trackUsage(log('openai', 1, 1));
    const r = await d.syncNow();
    assert.equal(r.offline, true);
    assert.equal(r.committed, true);
    assert.ok(r.offlineReason);
  }
  let h = d.health().gitSync;
  assert.equal(h.deviceId, 'laptop');
  assert.equal(h.failures, 2);
  assert.equal(h.offline, true);
  assert.equal(h.pendingCommits, 2);
  assert.ok(h.lastError);
  assert.ok(h.lastSyncAt >= h.lastOkAt);
  fs.renameSync(away, remote);
  assert.equal((await d.syncNow()).pushed, true);
  h = d.health().gitSync;
  assert.equal(h.failures, 0);
  assert.equal(h.pendingCommits, 0);
  assert.deepEqual(totals((await d.getMergedStats()).total), [3, 3, 3, 6, 0]);
  git(remote, 'fsck', '--no-progress', '--strict');
});
