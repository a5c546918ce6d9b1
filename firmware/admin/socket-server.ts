import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';

/**
 * Serves the admin API on a Unix socket, mode 0660: the service user and its group (operators) may
 * connect, nobody else, and nothing is reachable over the network.
 */
export async function listenOnSocket(
  path: string,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ close: () => Promise<void> }> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  // A socket left by a crashed daemon would make listen() fail with EADDRINUSE; anything else is not ours to remove.
  try {
    if (lstatSync(path).isSocket()) rmSync(path);
    else throw new Error(`admin socket path ${path} exists and is not a socket`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o660);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
