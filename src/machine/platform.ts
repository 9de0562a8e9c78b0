// Threads on Node (node:worker_threads) and Deno (Web Workers), behind one small interface.
export const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

export interface Thread {
  post(message: unknown): void;
  onMessage(handler: (message: any) => void): void;
  onError(handler: (error: Error) => void): void;
  terminate(): Promise<void>;
}

// Running from the TypeScript sources (a checkout, through tsx or Deno) or from the compiled JavaScript
// in dist/ (the installed package): a module loaded by URL (a worker's entry, a module a CPU worker
// imports) is the sibling file of the same kind as the module naming it.
export function siblingModule(stem: string, base: string): URL {
  return new URL(stem + (base.endsWith('.ts') ? '.ts' : '.js'), base);
}

export async function spawnCpuThread(): Promise<Thread> {
  if (isDeno) {
    const worker = new Worker(siblingModule('./cpu-worker', import.meta.url), { type: 'module' });
    return {
      post: (m) => worker.postMessage(m),
      onMessage: (h) => worker.addEventListener('message', (e) => h((e as MessageEvent).data)),
      onError: (h) =>
        worker.addEventListener('error', (e) => {
          (e as Event).preventDefault();
          h(new Error((e as ErrorEvent).message));
        }),
      terminate: async () => worker.terminate(),
    };
  }
  const worker = await nodeWorker(siblingModule('./cpu-worker', import.meta.url));
  return {
    post: (m) => worker.postMessage(m),
    onMessage: (h) => worker.on('message', h),
    onError: (h) => worker.on('error', h),
    terminate: async () => {
      await worker.terminate();
    },
  };
}

// A node:worker_threads worker running `entry`. tsx does not hook worker threads on Node 20: a .ts
// entry (from the sources) starts from worker-boot.mjs, which registers it first; the compiled package
// needs no loader.
export async function nodeWorker(entry: URL): Promise<import('node:worker_threads').Worker> {
  const { Worker: NodeWorker } = await import('node:worker_threads');
  if (!entry.pathname.endsWith('.ts')) return new NodeWorker(entry);
  return new NodeWorker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { entry: entry.href } });
}

// The worker's side: its message port.
export async function parentPort(): Promise<{ post(m: unknown): void; onMessage(h: (m: any) => void): void }> {
  if (isDeno) {
    const self = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent) => void) | null };
    return {
      post: (m) => self.postMessage(m),
      onMessage: (h) => {
        self.onmessage = (e) => h(e.data);
      },
    };
  }
  const { parentPort: port } = await import('node:worker_threads');
  if (!port) throw new Error('ringtrace: cpu-worker must run in a worker thread');
  return { post: (m) => port.postMessage(m), onMessage: (h) => port.on('message', h) };
}
