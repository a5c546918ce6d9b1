import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Replaces `path` with `data` so that a crash at any moment leaves either the old or the new contents,
 * never a mix (red line 8): write a temp file, fsync it, rename it over the target, fsync the folder so
 * the rename itself is durable. Synchronous on purpose: the daemon is the only writer and the store is
 * small enough that one bounded pause beats interleaving two writers' temp files.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temp = tempPathOf(path);
  const fd = openSync(temp, 'w', 0o600);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  fsyncDir(dirname(path));
}

export function tempPathOf(path: string): string {
  return `${path}.tmp`;
}

/**
 * A temp file left by a crash holds a write that never committed; it may even hold template bytes that
 * were deleted since, so it is removed rather than trusted.
 */
export function removeStaleTemp(path: string): void {
  rmSync(tempPathOf(path), { force: true });
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
