'use strict';
// Best-effort close at normal process (or worker) exit: the final flush of
// file-backed trackers (T8) and the drain of ledgers (L4). The 'exit'
// listener holds no handle, so it never keeps the event loop alive; objects
// are held weakly, so it never keeps one alive either. Each watched object
// implements `[kCloseAtExit]()` (synchronous: nothing async runs at exit).

const kCloseAtExit = Symbol('usagebook.closeAtExit');
const live = new Set();
const forget = new FinalizationRegistry((ref) => live.delete(ref));
let hooked = false;

function closeAllAtExit() {
  for (const ref of live) {
    const o = ref.deref();
    if (o !== undefined) o[kCloseAtExit]();
  }
  live.clear();
}

/** Watches `obj` until `unwatch` (its own close); returns the handle. */
function watchForExit(obj) {
  if (!hooked) {
    process.on('exit', closeAllAtExit);
    hooked = true;
  }
  const ref = new WeakRef(obj);
  live.add(ref);
  forget.register(obj, ref, ref);
  return ref;
}

function unwatch(ref) {
  if (ref === undefined) return;
  live.delete(ref);
  forget.unregister(ref);
}

module.exports = { kCloseAtExit, watchForExit, unwatch };
