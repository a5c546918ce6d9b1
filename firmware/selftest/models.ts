import type { ModelEntry } from '../../models/loader';
import { fail, pass, type CheckResult } from './check';

const REINSTALL = 'restore the pinned model files: sudo scripts/provision/provision.sh (npm ci restores installed packages, npm run models the fetched ones); never edit model files by hand';

/**
 * Every model of the manifest is read, checked byte for byte against its pinned sha256 and handed to
 * tfjs, exactly as the gate loads it at start. `load` is models/loader.ts's loadVerifiedModel.
 */
export async function checkModels(entries: readonly ModelEntry[], load: (entry: ModelEntry) => Promise<{ dispose(): void }>, now: () => number = Date.now): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const entry of entries) {
    const name = `model ${entry.name}`;
    const started = now();
    try {
      const model = await load(entry);
      const ms = now() - started;
      model.dispose();
      results.push(pass(name, `sha256 verified (${1 + entry.weights.length} files), loaded in ${ms} ms`));
    } catch (err) {
      results.push(fail(name, (err as Error).message, REINSTALL));
    }
  }
  return results;
}
