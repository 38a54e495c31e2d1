import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { UserError } from '../../common/user-error.ts';
import { type ServedSession, servedPaths } from '../../web/served-paths.ts';
import { confinedFile } from './confined-path.ts';
import { bundleForwardProgram, bundlePage, bundleTrainStep, pageHtml } from './page-bundle.ts';

export interface PageServerOptions {
  /** OUT/<exp>, the folder hrnetc wrote. */
  readonly programDirectory: string;
  readonly session: ServedSession;
  /** The --weights file re-encoded as safetensors; absent when the page initialises its own. */
  readonly weights?: Uint8Array;
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
}

export interface PageServer {
  /** http://HOST:PORT/ */
  readonly url: string;
  /** Stops listening and drops open connections (a browser keeps some alive). */
  close(): Promise<void>;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.ir': 'text/plain; charset=utf-8',
  '.dot': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.safetensors': 'application/octet-stream',
};

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Serves the page and one compiled program: the page's HTML and script (bundled now, from web/),
 * the program's forward.ts and backward.ts bundled for the browser, the weights, and the program
 * folder's own files.
 * Nothing outside that folder is reachable (see confinedFile). On a loopback address, requests must
 * name a loopback host, so a web page that rebinds its DNS name to 127.0.0.1 cannot read the files.
 */
export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const routes = new Map<string, { type: string; body: string | Uint8Array }>([
    [servedPaths.page, { type: contentTypes['.html']!, body: readFileSync(pageHtml, 'utf8') }],
    [servedPaths.script, { type: contentTypes['.js']!, body: await bundlePage() }],
    [
      servedPaths.forward,
      {
        type: contentTypes['.js']!,
        body: await bundleForwardProgram(join(options.programDirectory, 'forward.ts')),
      },
    ],
    [servedPaths.session, { type: contentTypes['.json']!, body: JSON.stringify(options.session) }],
  ]);
  // Without backward.ts (compiled with --emit forward only) the page predicts but cannot train.
  const backwardTs = join(options.programDirectory, 'backward.ts');
  if (existsSync(backwardTs))
    routes.set(servedPaths.backward, { type: contentTypes['.js']!, body: await bundleTrainStep(backwardTs) });
  if (options.weights)
    routes.set(servedPaths.weights, { type: contentTypes['.safetensors']!, body: options.weights });

  let port = options.port;
  const loopbackOnly = loopbackHosts.has(options.host);
  const server = createServer((request, response) => {
    let reply: Reply;
    try {
      reply = answer(request);
    } catch {
      reply = text(500, 'internal error');
    }
    if (reply.status === 405) response.setHeader('Allow', 'GET, HEAD');
    response.writeHead(reply.status, {
      'Content-Type': reply.type,
      'Content-Length':
        typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.byteLength,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    response.end(request.method === 'HEAD' ? undefined : reply.body);
  });

  function answer(request: IncomingMessage): Reply {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'only GET and HEAD');
    if (loopbackOnly && !isLoopbackHost(request.headers.host, port))
      return text(403, 'this server answers only to 127.0.0.1');
    // The raw path, not a normalised URL: '/program/../x' must be refused, not quietly become '/x'.
    const path = (request.url ?? '/').split(/[?#]/, 1)[0]!;
    const route = routes.get(path);
    if (route) return { status: 200, ...route };
    if (path.startsWith(servedPaths.program)) {
      const file = confinedFile(options.programDirectory, path.slice(servedPaths.program.length));
      if (file)
        return {
          status: 200,
          type: contentTypes[extname(file)] ?? 'application/octet-stream',
          body: readFileSync(file),
        };
    }
    return text(404, 'not found');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new UserError(
              `port ${options.port} on ${options.host} is in use; pick another with --port (0: any free port)`,
            )
          : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
            ? new UserError(`--host ${options.host}: not an address of this machine`)
            : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function isLoopbackHost(header: string | undefined, port: number): boolean {
  if (!header) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header.toLowerCase());
  return !!match && loopbackHosts.has(match[1]!) && Number(match[2] ?? 80) === port;
}

interface Reply {
  readonly status: number;
  readonly type: string;
  readonly body: string | Uint8Array;
}

function text(status: number, message: string): Reply {
  return { status, type: 'text/plain; charset=utf-8', body: `${message}\n` };
}
