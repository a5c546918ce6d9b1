import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-file';
import type { ReplayView } from './commands';

/**
 * Nonces of accepted commands, kept on disk so a restart cannot reopen a window for replays. An entry
 * can go once its command is past expiry plus skew: from then on the expiry check rejects it anyway.
 */
export class ReplayCache implements ReplayView {
  private readonly path: string;
  private readonly entries = new Map<string, number>();

  constructor(dir: string, private readonly skewMs: number) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'replay-cache.json');
    if (existsSync(this.path)) {
      const text = readFileSync(this.path, 'utf8');
      let stored: unknown;
      try {
        stored = JSON.parse(text);
      } catch {
        throw new Error(`replay cache ${this.path} is not valid JSON; refusing to start with an unknown replay history`);
      }
      if (typeof stored !== 'object' || stored === null) throw new Error(`replay cache ${this.path} is not a JSON object`);
      for (const [nonce, expiresAt] of Object.entries(stored)) {
        if (typeof expiresAt === 'number') this.entries.set(nonce, expiresAt);
      }
    }
  }

  has(nonce: string): boolean {
    return this.entries.has(nonce);
  }

  /** Records and persists before the caller acts, so a crash mid-command cannot let the same nonce run again. */
  record(nonce: string, expiresAt: number, nowMs: number): void {
    this.prune(nowMs);
    this.entries.set(nonce, expiresAt);
    writeFileAtomic(this.path, JSON.stringify(Object.fromEntries(this.entries)));
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(nowMs: number): void {
    for (const [nonce, expiresAt] of this.entries) {
      if (expiresAt + this.skewMs < nowMs) this.entries.delete(nonce);
    }
  }
}
