// Typed errors of the API. `code` is the errno name the kernel would return for the same request.
export type Errno = 'EINVAL' | 'ENOENT' | 'EBUSY' | 'EACCES' | 'ENODEV' | 'ENOMEM' | 'EPERM' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'EFAULT' | 'ERANGE' | 'ENOSPC' | 'ENAMETOOLONG'
  | 'EBADF' | 'EADDRINUSE' | 'EOVERFLOW' | 'EIO';

const strerror: Record<Errno, string> = {
  EINVAL: 'Invalid argument',
  ENOENT: 'No such file or directory',
  EBUSY: 'Device or resource busy',
  EACCES: 'Permission denied',
  ENODEV: 'No such device',
  ENOMEM: 'Cannot allocate memory',
  EPERM: 'Operation not permitted',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EFAULT: 'Bad address',
  ERANGE: 'Numerical result out of range',
  ENOSPC: 'No space left on device',
  ENAMETOOLONG: 'File name too long',
  EBADF: 'Bad file descriptor',
  EADDRINUSE: 'Address already in use',
  EOVERFLOW: 'Value too large for defined data type',
  EIO: 'Input/output error',
};

export class RingtraceError extends Error {
  constructor(readonly code: Errno, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RingtraceError';
    // Until its stack is formatted, V8 keeps the frames' receivers alive: an error kept by the caller
    // would keep the machine that threw it, and its gigabytes of shared memory, from being collected.
    void this.stack;
  }

  get strerror(): string {
    return strerror[this.code];
  }
}
