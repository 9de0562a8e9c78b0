// as-pect 8.1.0 configuration (run: `npx asp --config as-pect.config.cjs`).
//
// Compiler options: as-pect does not take compiler options from this file. It
// always runs asc with `--config ./as-pect.asconfig.json --target noCoverage`
// (override with `asp --as-config <file>`). That file is as-pect's own asc
// config and, unlike the stock `asp --init` template, deliberately does NOT
// `extends: "./asconfig.json"`: because an explicit --config is given, asc does
// not read ./asconfig.json at all, so neither the release target
// (importMemory/sharedMemory/initialMemory/maximumMemory, runtime stub,
// noAssert) nor anything added later to asconfig.json's shared "options" leaks
// into the test builds. Check with:
//   npx asc assembly/__tests__/smoke.spec.ts --config ./as-pect.asconfig.json \
//     --target noCoverage --showConfig
// Without as-pect.asconfig.json the specs fail with "Cannot find name 'describe'"
// (the @as-pect/assembly entry and @as-pect/transform come only from there).
//
// as-pect.asconfig.json enables "threads", so atomic.load/store/cmpxchg/add,
// atomic.notify and memory.atomic.wait32 compile. Each spec module owns its own
// NON-shared memory (the incremental runtime; the `memory` passed to
// instantiate() below is not imported by the module and goes unused). On
// non-shared memory V8 executes every atomic RMW/load/store and notify (returns
// 0), but memory.atomic.wait32/wait64 TRAPS ("Atomics.wait cannot be called in
// this context"), even with a 0 timeout. Exercise blocking paths in node:test
// with workers instead. (Verified alternative, not enabled: adding
// "sharedMemory": true, "initialMemory": 16, "maximumMemory": 1024 -- without
// importMemory -- to the noCoverage target gives each spec a module-owned
// shared memory; as-pect still works and wait32 then returns 1/2.)
//
// as-pect.asconfig.json also sets "memoryBase": 16777216 (16 MiB). Specs run on
// the incremental GC runtime, whose heap starts at __heap_base and grows upward;
// with the default memoryBase 0 it would sit at ~36 KiB and grow straight into
// the host-style layout at abi.ts's LAYOUT_BASE (65536). With memoryBase the
// data segments and the GC heap start at 16 MiB, so [0, 16 MiB) is free for a
// spec to lay out a machine at fixed addresses (verified: filling
// [LAYOUT_BASE, 16 MiB) between allocations leaves the heap intact). Raise it
// if a spec's layout needs more than ~16 MiB. Do not poke "after __heap_base":
// that is exactly where the allocator hands out memory.
//
// Compile errors in any spec abort the whole run (exit 1) before later specs run.
// Coverage mode does not work with assemblyscript 0.28: do not enable `coverage`.
module.exports = {
  /** Globs (glob package) of the spec files; each is compiled to its own module. */
  entries: ["assembly/__tests__/**/*.spec.ts"],
  /** Globs of files added to every spec compilation. */
  include: ["assembly/__tests__/**/*.include.ts"],
  /** Regexps of spec paths to skip. */
  disclude: [/node_modules/],
  /** Add host imports the code under test needs to `env` here. */
  async instantiate(memory, createImports, instantiate, binary) {
    const myImports = {
      env: {
        memory,
        // assembly/clock.ts's host clock (ns since the machine was created); the specs use
        // CLOCK_VIRTUAL, so this is only there to satisfy the import.
        clockNow: () => performance.now() * 1e6,
      },
    };
    return instantiate(binary, createImports(myImports));
  },
  /** Set to true to write each spec's .wasm/.wat next to it (debugging). */
  outputBinary: false,
};
