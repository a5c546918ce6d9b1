import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The photo collection the benches measure on: $POSTERN_FACES, else `shared/faces` beside the repository
 * (this file runs from dist/scripts/bench). The tests never read it; they have their own fixtures.
 */
export function facesRoot(): string {
  return path.resolve(process.env.POSTERN_FACES || path.join(__dirname, '..', '..', '..', '..', 'shared', 'faces'));
}

/**
 * Fails before any model loads when a bench's photos are not where it looks, saying where that was and
 * how to point it elsewhere; `flag` is the bench's own option for this folder.
 */
export function requireDataset(dir: string, flag: string): string {
  if (!fs.existsSync(dir)) {
    throw new Error(`no benchmark photos at ${dir}: give their folder with ${flag} DIR, or set POSTERN_FACES to the folder holding lfw-dev/, orl-att/, ... (default: shared/faces beside the repository)`);
  }
  return dir;
}

export interface LfwPair {
  a: string;
  b: string;
  same: boolean;
}

/** Reads a pairs file in the LFW format (a count line, then "name i j" or "name1 i name2 j"). */
export function readLfwPairs(facesDir: string, pairsFile: string): LfwPair[] {
  const lines = fs.readFileSync(pairsFile, 'utf8').split(/\r?\n/).slice(1).filter((l) => l.trim());
  const image = (name: string, n: string) => path.join(facesDir, 'images', name, `${name}_${n.padStart(4, '0')}.jpg`);
  return lines.map((line, i) => {
    const f = line.trim().split(/\s+/);
    if (f.length === 3) return { a: image(f[0]!, f[1]!), b: image(f[0]!, f[2]!), same: true };
    if (f.length === 4) return { a: image(f[0]!, f[1]!), b: image(f[2]!, f[3]!), same: false };
    throw new Error(`${pairsFile}:${i + 2}: expected "name i j" or "name1 i name2 j", got "${line}"`);
  });
}

/** Every JPEG/PNG under dir, sorted. */
export function listImages(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listImages(full));
    else if (/\.(jpe?g|png)$/i.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** Images grouped by identity: the folder right under `dir` (ORL s1..s40, yalefaces subject01..). */
export function identities(dir: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const file of listImages(dir)) {
    const id = path.relative(dir, file).split(path.sep)[0]!;
    groups.set(id, [...(groups.get(id) ?? []), file]);
  }
  return groups;
}
