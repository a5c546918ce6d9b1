/**
 * The `postern` CLI's subcommands. Each module exports `run(args, io)` and returns the exit code;
 * scripts/postern.ts only dispatches. One line per subcommand here.
 */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}
export type CliCommand = { summary: string; run: (args: string[], io: CliIo) => Promise<number> };

export const commands: Record<string, () => Promise<CliCommand>> = {
  remote: () => import('./remote.js'),
  selftest: () => import('./selftest.js'),
  status: () => import('./status.js'),
  resident: () => import('./resident.js'),
  card: () => import('./card.js'),
  consent: () => import('./consent.js'),
  face: () => import('./face.js'),
  export: () => import('./export.js'),
  audit: () => import('./audit.js'),
  events: () => import('./events.js'),
  receipt: () => import('./receipt.js'),
};
