// /sys/devices/system/cpu: the CPU masks and each CPU's online file (drivers/base/cpu.c), the
// hotplug control of the emulated machine.
import type { RingMachine } from './api.ts';
import { RingtraceError } from './errors.ts';

// cpumap_print_list_to_buf(): "0-1,3"
export function cpuListString(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

// kstrtobool(): what online_store() accepts
function parseBool(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['1', 'y', 'yes', 'on', 't', 'true'].includes(t)) return true;
  if (['0', 'n', 'no', 'off', 'f', 'false'].includes(t)) return false;
  throw new RingtraceError('EINVAL', `"${text.trim()}" is not a boolean (write 1 or 0)`);
}

export class CpuSysfs {
  constructor(private readonly rm: RingMachine) {}

  private all(): number[] {
    return Array.from({ length: this.rm.nrCpuIds }, (_, i) => i);
  }

  // entries of a directory relative to /sys/devices/system/cpu ('' is the directory itself), or null
  list(rel: string): string[] | null {
    if (rel === '') return ['online', 'offline', 'possible', 'present', ...this.all().map((c) => `cpu${c}`)];
    const m = /^cpu(\d+)$/.exec(rel);
    if (m && Number(m[1]) < this.rm.nrCpuIds) return this.rm.cpuHotpluggable(Number(m[1])) ? ['online'] : [];
    return null;
  }

  isFile(rel: string): boolean {
    if (['online', 'offline', 'possible', 'present'].includes(rel)) return true;
    const m = /^cpu(\d+)\/online$/.exec(rel);
    return !!m && Number(m[1]) < this.rm.nrCpuIds && this.rm.cpuHotpluggable(Number(m[1]));
  }

  read(rel: string): string {
    const online = this.rm.onlineCpus();
    switch (rel) {
      case 'online':
        return cpuListString(online) + '\n';
      case 'offline':
        return cpuListString(this.all().filter((c) => !online.includes(c))) + '\n';
      case 'possible':
      case 'present':
        return cpuListString(this.all()) + '\n';
    }
    const cpu = this.cpuOf(rel);
    return online.includes(cpu) ? '1\n' : '0\n';
  }

  // online_store(): device_online()/device_offline() of the CPU
  async write(rel: string, text: string): Promise<void> {
    if (!this.isFile(rel)) throw new RingtraceError('ENOENT', `/sys/devices/system/cpu/${rel}: no such file`);
    if (!rel.includes('/')) throw new RingtraceError('EACCES', `/sys/devices/system/cpu/${rel} is read-only`);
    const cpu = this.cpuOf(rel);
    if (parseBool(text)) await this.rm.cpuUp(cpu);
    else await this.rm.cpuDown(cpu);
  }

  private cpuOf(rel: string): number {
    const m = /^cpu(\d+)\/online$/.exec(rel);
    if (!m || !this.isFile(rel)) throw new RingtraceError('ENOENT', `/sys/devices/system/cpu/${rel}: no such file`);
    return Number(m[1]);
  }
}
