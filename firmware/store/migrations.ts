/** Store file layout version written by this build. Bump it and add a step below when the layout changes. */
export const STORE_SCHEMA_VERSION = 1;

type Step = (data: Record<string, unknown>) => Record<string, unknown>;

/**
 * `steps[kind][n]` turns a version-n file into version n+1. Version 1 is the first released layout, so
 * there are no steps yet; a file from a newer build is refused rather than guessed at.
 */
const steps: Record<'main' | 'templates', Partial<Record<number, Step>>> = { main: {}, templates: {} };

export function migrate(kind: 'main' | 'templates', raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('top level is not an object');
  let data = raw as Record<string, unknown>;
  const version = data.schema;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new Error(`has no valid "schema" version (found ${JSON.stringify(version)})`);
  }
  if (version > STORE_SCHEMA_VERSION) {
    throw new Error(`was written by a newer Postern (schema ${version}); this build reads schema ${STORE_SCHEMA_VERSION} and older`);
  }
  for (let v = version; v < STORE_SCHEMA_VERSION; v += 1) {
    const step = steps[kind][v];
    if (!step) throw new Error(`has schema ${v} and no migration from it exists`);
    data = { ...step(data), schema: v + 1 };
  }
  return data;
}
