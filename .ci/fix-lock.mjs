// The registry this project installs from serves only @deno/linux-x64-glibc of the `deno` package's
// platform binaries, so `npm install` leaves the other optional platforms out of package-lock.json and
// `npm ci` then rejects the lock. This adds them back as the full registry lists them (no tarball is
// fetched for a platform that does not match). Run it after any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const deno = lock.packages['node_modules/deno'];
const platforms = {
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'linux-arm64-glibc': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'linux-x64-glibc': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'win32-arm64': { os: 'win32', cpu: 'arm64' },
  'win32-x64': { os: 'win32', cpu: 'x64' },
};
let added = 0;
for (const name of Object.keys(deno.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const p = platforms[name.replace('@deno/', '')];
  if (!p) throw new Error(`fix-lock: unknown deno platform package ${name}`);
  lock.packages[key] = {
    version: deno.optionalDependencies[name],
    cpu: [p.cpu],
    dev: true,
    ...(p.libc ? { libc: [p.libc] } : {}),
    license: 'MIT',
    optional: true,
    os: [p.os],
  };
  added++;
}
// npm orders the keys with an 'en' locale compare (arborist's shrinkwrap), not by code point: the same
// order here, or the next `npm install` rewrites the lock.
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'))));
lock.packages = sorted;
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`fix-lock: added ${added} deno platform entr${added === 1 ? 'y' : 'ies'}`);
