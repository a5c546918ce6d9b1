import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { HttpError, JSON_TYPE, parseJson, readBody, requireContentType, sendJson } from '../http/json';
import { StoreError } from '../store/store';

/** Raised by a route for a client mistake; the message is shown to the operator as-is. */
export class AdminError extends HttpError {
  constructor(status: number, message: string) {
    super(status, message);
    this.name = 'AdminError';
  }
}

export interface AdminRequest {
  method: string;
  /** Path below the admin root, e.g. `/residents/r-1/revoke`. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body parsed as JSON, or undefined when there was none. */
  body: unknown;
  rawBody: Buffer;
  contentType: string;
}

export type AdminRouteHandler = (req: AdminRequest) => Promise<unknown> | unknown;

/** The same API is served on the gate's Unix socket and, in sim mode, by the bench under this prefix. */
export const ADMIN_PREFIX = '/api/admin';
const MAX_BODY_BYTES = 8 * 1024 * 1024;

const STATUS_OF: Record<StoreError['code'], number> = { invalid: 400, 'no-consent': 403, 'not-found': 404, conflict: 409 };

interface Route {
  method: string;
  segments: string[];
  handler: AdminRouteHandler;
}

/**
 * Validates a request body against a zod schema, naming the offending field in the error. A missing body
 * is refused rather than read as `{}`: every field of a new resident is optional, so a request whose body
 * was dropped would otherwise create one.
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined) throw new AdminError(400, `this request needs a JSON object body (${JSON_TYPE}); send {} for the defaults`);
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'body';
  throw new AdminError(400, `${field}: ${issue?.message ?? 'invalid'}`);
}

/**
 * A small JSON router. Other modules add their own routes (e.g. `POST /face/enrol` from the vision
 * pipeline) with `route()`; `handle` is a plain Node request handler for the socket server and the bench.
 */
export class AdminApi {
  private readonly routes: Route[] = [];

  constructor(private readonly onInternalError: (err: unknown, method: string, path: string) => void) {}

  route(method: 'GET' | 'POST' | 'DELETE', pattern: string, handler: AdminRouteHandler): void {
    const segments = pattern.split('/').filter(Boolean);
    const clash = this.routes.find((r) => r.method === method && r.segments.join('/') === segments.join('/'));
    if (clash) throw new Error(`admin route ${method} ${pattern} is registered twice`);
    this.routes.push({ method, segments, handler });
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname.startsWith(ADMIN_PREFIX) ? url.pathname.slice(ADMIN_PREFIX.length) || '/' : url.pathname;
    const method = req.method ?? 'GET';
    try {
      const match = this.match(method, path);
      const rawBody = await readBody(req, MAX_BODY_BYTES);
      const contentType = String(req.headers['content-type'] ?? '');
      let body: unknown;
      // A body in any other type used to be ignored, and the route then ran on its defaults.
      if (rawBody.length > 0) {
        requireContentType(req, [JSON_TYPE]);
        body = parseJson(rawBody);
      }
      const result = await match.route.handler({ method, path, params: match.params, query: url.searchParams, body, rawBody, contentType });
      sendJson(res, 200, result ?? { ok: true });
    } catch (err) {
      if (err instanceof HttpError) sendJson(res, err.status, { error: err.message });
      else if (err instanceof StoreError) sendJson(res, STATUS_OF[err.code], { error: err.message, code: err.code });
      else {
        this.onInternalError(err, method, path);
        sendJson(res, 500, { error: 'internal error (see the gate log)' });
      }
    }
  };

  private match(method: string, path: string): { route: Route; params: Record<string, string> } {
    const parts = path.split('/').filter(Boolean);
    let pathMatched = false;
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const ok = route.segments.every((seg, i) => {
        const part = decodePart(parts[i] ?? '');
        if (seg.startsWith(':')) {
          params[seg.slice(1)] = part;
          return true;
        }
        return seg === part;
      });
      if (!ok) continue;
      pathMatched = true;
      if (route.method === method) return { route, params };
    }
    if (pathMatched) throw new AdminError(405, `${method} is not supported on ${path}`);
    throw new AdminError(404, `no admin route ${method} ${path}`);
  }
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new AdminError(400, `"${part}" in the path is not valid percent-encoding`);
  }
}
