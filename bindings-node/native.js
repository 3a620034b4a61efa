'use strict';
// Loads the N-API addon, laid out as napi-rs projects ship it: one npm
// package per platform (`usagebook-linux-x64-gnu`, ...), each an optional
// dependency of `usagebook` that npm installs only where its os/cpu/libc
// match. A build from source (`npm run build`) puts
// `usagebook.<platform>.node` next to this file instead; that one wins.
// When neither is there the error names the package to install, since the
// usual cause is an install that skipped optional dependencies
// (`--omit=optional`, a lockfile made on another platform).

const fs = require('node:fs');
const path = require('node:path');

const { version } = require('./package.json');

// The platforms docs/packaging.md lists; each has its npm/<platform> dir.
const PLATFORMS = ['linux-x64-gnu', 'linux-arm64-gnu', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc'];

function isMusl() {
  // glibc reports its version in the process report; musl does not.
  try {
    const report = process.report && process.report.getReport();
    if (report && report.header) return !report.header.glibcVersionRuntime;
  } catch {
    // No report (a sandboxed host): fall back to the loader's file.
  }
  try {
    return fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl');
  } catch {
    return false;
  }
}

function platformName() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function load() {
  const name = platformName();
  const pkg = `usagebook-${name}`;
  const local = path.join(__dirname, `usagebook.${name}.node`);
  if (fs.existsSync(local)) return require(local);
  let addon;
  try {
    addon = require(pkg);
  } catch (cause) {
    if (cause && cause.code !== 'MODULE_NOT_FOUND') throw cause; // found but failed to load: its own error
    const fix = PLATFORMS.includes(name)
      ? `install it with \`npm install ${pkg}@${version}\` (npm installs it as an optional dependency of usagebook unless optional dependencies are omitted, e.g. --omit=optional or a lockfile made on another platform)`
      : `no such package is published for ${name} (there are: ${PLATFORMS.join(', ')}); build the addon from source with \`npm run build\` in bindings-node (docs/packaging.md)`;
    const e = new Error(`usagebook: the native addon for ${name} is in the package ${pkg}, which is not installed: ${fix}`);
    e.code = 'MODULE_NOT_FOUND';
    e.cause = cause;
    throw e;
  }
  const got = require(`${pkg}/package.json`).version;
  if (got !== version) {
    throw new Error(`usagebook: ${pkg} is version ${got} but usagebook is ${version}; install ${pkg}@${version}`);
  }
  return addon;
}

module.exports = load();
