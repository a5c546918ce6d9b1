/** `--name value` pairs after the bench name; a flag given twice or without a value is an error. */
export function parseArgs(argv: readonly string[], allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!;
    const value = argv[i + 1];
    if (!key.startsWith('--') || !allowed.includes(key.slice(2))) throw new Error(`unknown option ${key}; this bench takes ${allowed.map((a) => `--${a}`).join(', ')}`);
    if (value === undefined || value.startsWith('--')) throw new Error(`option ${key} needs a value`);
    if (out.has(key.slice(2))) throw new Error(`option ${key} given twice`);
    out.set(key.slice(2), value);
  }
  return out;
}

export function intArg(args: Map<string, string>, name: string, dflt: number): number {
  const raw = args.get(name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got "${raw}"`);
  return n;
}
