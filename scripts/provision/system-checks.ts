/** The oldest Node that runs Postern: lowdb 7 is ESM-only and needs require(esm), stable from 20.19. */
export const MIN_NODE = [20, 19] as const;

export function nodeVersionProblem(version: string): string | null {
  const m = /^v?(\d+)\.(\d+)\./.exec(version);
  if (!m) return `cannot read the Node.js version "${version}"`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return null;
  return `Node.js ${version} is too old: Postern needs ${MIN_NODE.join('.')} or newer (Debian bookworm ships 18; install Node 20 or 22 from NodeSource)`;
}

/** Parses /etc/os-release (KEY=value lines, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/** Raspberry Pi OS calls itself `raspbian` (32-bit) or `debian` (64-bit); both, and plain Debian, are fine. */
export function osProblem(osRelease: Record<string, string>): string | null {
  const ids = [osRelease.ID ?? '', ...(osRelease.ID_LIKE ?? '').split(/\s+/)];
  if (ids.includes('debian') || ids.includes('raspbian')) return null;
  const name = osRelease.PRETTY_NAME ?? osRelease.ID ?? 'an unknown system';
  return `this is ${name}; the installer supports Debian and Raspberry Pi OS only`;
}
