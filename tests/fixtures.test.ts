import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * `npm test` must pass on a fresh clone with nothing beside it: the photos the tests need live in
 * tests/fixtures/faces, and nothing under tests/ may reach for the benchmark collection outside the
 * repository again.
 */
const TESTS = __dirname;
const FACES = join(TESTS, 'fixtures', 'faces');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

const OUTSIDE_REPO = [
  /shared[/\\]+faces/i,
  /['"`]shared['"`]\s*,\s*['"`]faces['"`]/i,
  /(['"`]\.\.['"`]\s*,\s*){3}['"`]shared['"`]/,
  /(\.\.[/\\]){3}shared\b/,
];

describe('test fixtures', () => {
  test('no file under tests/ reads photos from outside the repository', () => {
    const offenders = filesUnder(TESTS)
      .filter((f) => f !== __filename && !/\.(jpe?g|png)$/i.test(f))
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        return OUTSIDE_REPO.filter((re) => re.test(text)).map((re) => `${relative(TESTS, f)} matches ${re}`);
      });
    expect(offenders).toEqual([]);
  });

  test('every photo in tests/fixtures/faces is listed in its README with its size, and they stay small', () => {
    const listed = new Map<string, number>();
    for (const m of readFileSync(join(FACES, 'README.md'), 'utf8').matchAll(/^\| `([^`]+)` \| ([\d,]+) \|/gm)) listed.set(m[1]!, Number(m[2]!.replaceAll(',', '')));
    const present = new Map(
      filesUnder(FACES)
        .filter((f) => !f.endsWith('README.md'))
        .map((f) => [relative(FACES, f).split(sep).join('/'), statSync(f).size] as const),
    );
    expect(Object.fromEntries(present)).toEqual(Object.fromEntries(listed));
    expect([...present.values()].reduce((a, b) => a + b, 0)).toBeLessThan(2_000_000);
  });
});
