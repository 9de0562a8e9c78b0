// Placeholder proving `deno test --allow-read --allow-env test/deno/` works offline: only node: builtins
// and relative imports (with explicit .ts extensions), no jsr:/npm:/https: specifiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('deno smoke: node:test runs under Deno', () => {
  const n: number = 40 + 2;
  assert.equal(n, 42);
  assert.equal(typeof SharedArrayBuffer, 'function');
  assert.equal(typeof Atomics.wait, 'function');
});

test('deno smoke: WebAssembly shared memory is available', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  assert.ok(memory.buffer instanceof SharedArrayBuffer);
});
