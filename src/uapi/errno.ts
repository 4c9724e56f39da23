// Errno values (include/uapi/asm-generic/errno-base.h, errno.h) and their names, for results.

export const ERRNO: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOTTY: 25,
  ERANGE: 34,
  EOVERFLOW: 75,
  EBADFD: 77,
  EOPNOTSUPP: 95,
  EREMOTEIO: 121,
};

const NAMES = new Map(Object.entries(ERRNO).map(([k, v]) => [v, k]));

/** An operation's outcome: `ok`, `sigbus`, or an errno name (what scenarios `expect`). */
export type Outcome = 'ok' | 'sigbus' | 'sigsegv' | string;

/** Turns a kernel return (negative errno, or anything else for success) into an outcome. */
export function outcomeOf(ret: number | 'ok' | 'sigbus' | 'sigsegv' | 'oom' | object): Outcome {
  if (typeof ret !== 'number') return ret === 'oom' ? 'ENOMEM' : typeof ret === 'string' ? ret : 'ok';
  if (ret >= 0) return 'ok';
  return NAMES.get(-ret) ?? `errno ${-ret}`;
}
