// Copying within the shared memory. V8 runs memory.copy on a shared memory through a runtime call
// (tens of ns), more than a whole small event costs, so small copies are done with plain loads/stores.
@inline export function copyBytes(dst: usize, src: usize, n: usize): void {
  if (n > 256) {
    memory.copy(dst, src, n);
    return;
  }
  while (n >= 8) {
    store<u64>(dst, load<u64>(src));
    dst += 8;
    src += 8;
    n -= 8;
  }
  while (n > 0) {
    store<u8>(dst, load<u8>(src));
    dst++;
    src++;
    n--;
  }
}
