import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The fixtures directory in the repository, so that a fresh clone runs every test with nothing beside it. */
export const FIXTURES = join(__dirname, '..', 'fixtures');

/**
 * The path of a file or folder under tests/fixtures (e.g. `faces/face_recognition/obama1.jpg`). A missing
 * fixture is an error naming it, never a reason to skip: the tests that need it must fail.
 */
export function fixture(rel: string): string {
  const path = join(FIXTURES, rel);
  if (!existsSync(path)) throw new Error(`test fixture ${path} is missing (tests/fixtures/faces/README.md lists them)`);
  return path;
}
