import { readFileSync } from 'node:fs';
import type { SyncAdapter } from 'lowdb';
import type { z } from 'zod';
import { removeStaleTemp, writeFileAtomic } from './atomic-file';
import { migrate } from './migrations';

export class StoreFileError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`store file ${path}: ${problem}. It was left untouched; restore it from a backup or move it aside to start empty`);
    this.name = 'StoreFileError';
  }
}

/**
 * lowdb adapter for one store file: validated on read (a damaged file stops the daemon instead of being
 * silently replaced by an empty one, so nothing stored is lost) and written atomically.
 */
export class JsonFileAdapter<T extends { schema: number }> implements SyncAdapter<T> {
  constructor(
    private readonly path: string,
    private readonly schema: z.ZodType<T>,
    private readonly kind: 'main' | 'templates',
  ) {}

  read(): T | null {
    removeStaleTemp(this.path);
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StoreFileError(this.path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new StoreFileError(this.path, `is not valid JSON (${(err as Error).message})`);
    }
    let migrated: unknown;
    try {
      migrated = migrate(this.kind, raw);
    } catch (err) {
      throw new StoreFileError(this.path, (err as Error).message);
    }
    const parsed = this.schema.safeParse(migrated);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first ? first.path.map(String).join('.') || '(top level)' : '(unknown)';
      throw new StoreFileError(this.path, `does not match the store schema at ${where}: ${first?.message ?? 'invalid'}`);
    }
    return parsed.data;
  }

  write(data: T): void {
    writeFileAtomic(this.path, JSON.stringify(data));
  }
}
