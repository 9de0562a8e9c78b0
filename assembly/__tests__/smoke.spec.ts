// Smoke test for the as-pect setup: "threads" is enabled, atomics work on the
// spec's own (non-shared) memory, and generic expect<Class> compiles with the
// pinned assemblyscript/@as-pect/transform pair.
//
// Scratch words live in a static, zeroed, 16-byte-aligned data segment rather
// than "after __heap_base": with as-pect's incremental runtime the allocator
// hands out exactly that region, so poking there corrupts the heap.
const SCRATCH: usize = memory.data(16, 16);

class Pair {
  constructor(public a: i32 = 0, public b: i32 = 0) {}
}

describe("as-pect setup", () => {
  it("compares plain values", () => {
    expect<i32>(19 + 23).toBe(42);
    expect<u64>(<u64>1 << 40).toBe(<u64>1099511627776);
  });

  it("compiles expect<SomeClass>", () => {
    const x = new Pair(1, 2);
    expect<Pair>(x).toBe(x);
    expect<Pair>(x).toStrictEqual(new Pair(1, 2));
    expect<Pair | null>(null).toBeNull();
  });
});

describe("atomics on non-shared memory", () => {
  beforeEach(() => {
    atomic.store<i32>(SCRATCH, 0);
    atomic.store<i64>(SCRATCH + 8, 0);
  });

  it("load/store", () => {
    expect<bool>((SCRATCH & 15) == 0).toBe(true);
    atomic.store<i32>(SCRATCH, 5);
    expect<i32>(atomic.load<i32>(SCRATCH)).toBe(5);
  });

  it("cmpxchg succeeds then fails", () => {
    atomic.store<i32>(SCRATCH, 5);
    expect<i32>(atomic.cmpxchg<i32>(SCRATCH, 5, 7)).toBe(5);
    expect<i32>(atomic.cmpxchg<i32>(SCRATCH, 5, 9)).toBe(7);
    expect<i32>(atomic.load<i32>(SCRATCH)).toBe(7);
  });

  it("rmw ops, 32 and 64 bit", () => {
    expect<i32>(atomic.add<i32>(SCRATCH, 3)).toBe(0);
    expect<i32>(atomic.sub<i32>(SCRATCH, 1)).toBe(3);
    expect<i32>(atomic.xchg<i32>(SCRATCH, 100)).toBe(2);
    expect<i32>(atomic.or<i32>(SCRATCH, 1)).toBe(100);
    expect<i32>(atomic.load<i32>(SCRATCH)).toBe(101);
    expect<i64>(atomic.add<i64>(SCRATCH + 8, 0x100000000)).toBe(0);
    expect<i64>(atomic.load<i64>(SCRATCH + 8)).toBe(0x100000000);
  });

  it("notify with no waiters returns 0", () => {
    expect<i32>(atomic.notify(SCRATCH, 1)).toBe(0);
  });

  it("wait32 compiles but traps on non-shared memory", () => {
    expect(() => {
      memory.atomic.wait32(SCRATCH, 0, 0);
    }).toThrow();
  });
});
