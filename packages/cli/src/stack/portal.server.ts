import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export interface PortalServerOptions {
  /** The built portal (portal/dist). */
  root: string;
  /** Base URL of the gateway that /api is forwarded to, e.g. http://127.0.0.1:8081. */
  gateway: string;
}

/**
 * Serves the built portal and forwards /api to one gateway, so the browser sees a single origin and the
 * gateway's HttpOnly session cookie works. Bodies are piped both ways, never buffered: tus uploads and
 * the SSE stream pass through as they flow.
 */
export function createPortalServer(options: PortalServerOptions): Server {
  const gateway = new URL(options.gateway);
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/api' || path.startsWith('/api/')) {
      forward(req, res, gateway);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    void serveFile(options.root, path, req, res);
  });
}

function forward(req: IncomingMessage, res: ServerResponse, gateway: URL): void {
  const upstream = request(
    {
      host: gateway.hostname,
      port: gateway.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.once('error', (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          statusCode: 502,
          code: 'UNAVAILABLE',
          message: `the gateway at ${gateway.origin} did not answer (${err.message})`,
          hint: 'Check `decenter status` and the gateway log in $DECENTER_HOME/logs.',
        }),
      );
    } else res.destroy(err);
  });
  // A client that goes away (closing the SSE page) must release the upstream request too.
  res.once('close', () => {
    upstream.destroy();
  });
  req.pipe(upstream);
}

async function serveFile(
  root: string,
  urlPath: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const candidate = normalize(join(root, decoded));
  // Never serve outside the portal folder, whatever the path says.
  const inside = candidate === root || candidate.startsWith(root.endsWith(sep) ? root : root + sep);
  let file = inside ? candidate : join(root, 'index.html');
  let info = await stat(file).catch(() => undefined);
  if (info === undefined || info.isDirectory()) {
    // Client-side routes (/jobs/123) are the app's: answer them with index.html.
    file = join(root, 'index.html');
    info = await stat(file).catch(() => undefined);
  }
  if (info === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('The portal is not built: run `npm run build -w @decenter/portal`.\n');
    return;
  }
  const hashed = file.includes(`${sep}assets${sep}`);
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': info.size,
    // Vite fingerprints assets, so they can be cached for good; index.html must always be fresh.
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}
