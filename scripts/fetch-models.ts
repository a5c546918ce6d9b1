import { ensurePackageFiles, fetchedSourceDir } from '../models/fetch';
import { installedPackageJson, manifest, pinnedFiles, splitSource, type ModelEntry } from '../models/loader';

/**
 * `npm run models`: fetches the model packages that are not npm dependencies into models/npm/, taking
 * only the files models/manifest.json pins, each checked against its sha256. A package whose whole
 * dependency tree would come along (build tools, test runners) is fetched as a tarball instead of
 * installed. Run by prestart, pretest and bench; offline it succeeds when the files are already there.
 */
function main(): void {
  const bySource = new Map<string, ModelEntry[]>();
  for (const m of manifest.models) bySource.set(m.source, [...(bySource.get(m.source) ?? []), m]);
  for (const [source, entries] of bySource) {
    if (installedPackageJson(splitSource(source).pkg)) continue;
    const dir = fetchedSourceDir(source);
    const fetched = ensurePackageFiles(source, entries.flatMap(pinnedFiles), dir);
    console.log(`models: ${source} ${fetched ? 'fetched into' : 'present in'} ${dir} (${entries.map((e) => e.name).join(', ')})`);
  }
}

try {
  main();
} catch (err) {
  console.error(`models: ${(err as Error).message}`);
  process.exit(1);
}
