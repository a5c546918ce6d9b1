import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error with the HTTP status and a message that says what was wrong with the request. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const JSON_TYPE = 'application/json';

/** The media type of the request body, lower-cased and without parameters (`charset=...`); '' when none was sent. */
export function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}

/** 415 unless the body is declared as one of `accepted`. */
export function requireContentType(req: IncomingMessage, accepted: readonly string[]): void {
  const got = mediaType(req);
  if (accepted.includes(got)) return;
  throw new HttpError(415, `content-type ${got === '' ? '(none)' : got} is not accepted here: send ${accepted.join(' or ')}`);
}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new HttpError(413, `body of ${declared} bytes is over the limit of ${limitBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new HttpError(413, `body is over the limit of ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The body as a JSON object. An empty body is an error rather than `{}`: a request that lost its body
 * on the way must not act on defaults.
 */
export async function readJson(req: IncomingMessage, limitBytes = 64 * 1024): Promise<Record<string, unknown>> {
  const body = await readBody(req, limitBytes);
  if (body.length === 0) throw new HttpError(400, 'the body is empty: send a JSON object');
  const value = parseJson(body);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof HttpError) sendJson(res, err.status, { error: err.message });
  else sendJson(res, 500, { error: 'internal error' });
}
