'use strict';
// The release tarballs, laid out as napi-rs projects publish them:
//   usagebook-<version>.tgz                    the JS facade and types, with
//                                              one optional dependency per
//                                              platform package;
//   usagebook-<platform>-<version>.tgz         npm/<platform>/ plus the addon
//                                              built for it, for each addon
//                                              found (here: linux-x64-gnu).
// The main package's optionalDependencies are added in a staged copy, as
// `napi prepublish` does, so that the development package.json (and npm ci)
// never asks the registry for platform packages.
//
//   node scripts/pack.js OUT_DIR [ADDON_DIR]    (ADDON_DIR: where the
//   usagebook.<platform>.node files are; default: this package's folder)
// Prints the `npm pack --json` entries of every tarball as one JSON array.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const [out, addonDir = root] = process.argv.slice(2);
if (!out) {
  console.error('usage: node scripts/pack.js OUT_DIR [ADDON_DIR]');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
const stage = fs.mkdtempSync(path.join(path.resolve(out), '.stage-'));

const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const platforms = fs.readdirSync(path.join(root, 'npm')).sort();

function pack(dir) {
  const json = execFileSync(npm, ['pack', '--json', '--pack-destination', path.resolve(out)], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(json);
}

try {
  const packed = [];
  // The main package: its files, and every platform package as an optional
  // dependency at exactly this version.
  const mainStage = path.join(stage, 'usagebook');
  fs.mkdirSync(mainStage);
  for (const f of main.files) fs.copyFileSync(path.join(root, f), path.join(mainStage, f));
  const staged = { ...main, optionalDependencies: {} };
  delete staged.devDependencies;
  delete staged.scripts;
  for (const p of platforms) {
    const sub = JSON.parse(fs.readFileSync(path.join(root, 'npm', p, 'package.json'), 'utf8'));
    if (sub.version !== main.version) {
      throw new Error(`npm/${p}/package.json is version ${sub.version}, package.json ${main.version}: run cargo xtask set-version`);
    }
    staged.optionalDependencies[sub.name] = main.version;
  }
  fs.writeFileSync(path.join(mainStage, 'package.json'), JSON.stringify(staged, null, 2) + '\n');
  packed.push(...pack(mainStage));

  // The platform packages whose addon is here.
  for (const p of platforms) {
    const addon = path.join(addonDir, `usagebook.${p}.node`);
    if (!fs.existsSync(addon)) continue;
    const dir = path.join(stage, p);
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(root, 'npm', p, 'package.json'), path.join(dir, 'package.json'));
    fs.copyFileSync(addon, path.join(dir, path.basename(addon)));
    packed.push(...pack(dir));
  }
  console.log(JSON.stringify(packed, null, 2));
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
