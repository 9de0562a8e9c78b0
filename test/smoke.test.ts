// Placeholder proving test/run.ts and the tsx loader work; replace with real tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('runner smoke: TypeScript loads through tsx', () => {
  const n: number = 40 + 2;
  assert.equal(n, 42);
});
