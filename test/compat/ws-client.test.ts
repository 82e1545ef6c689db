/**
 * The client side of issue #11 (groups 2 and 8), in our own words: the handshake's flows and
 * texts as `ws` has them. Every case runs twice in this file, with the `ws` package (the oracle)
 * and with ironsock loaded by its package name, against the same raw servers. Where ironsock
 * differs on purpose, the ironsock run asserts its side and names the README row.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { LIBS } from './libs.js';
import { once } from './support.js';
import { makeCert } from '../helpers/certs.js';

const T = { timeout: 15_000 };
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** An agent that never connects: the request is only inspected. */
class InspectingAgent extends http.Agent {
  seen: http.ClientRequest[] = [];
  addRequest(request: http.ClientRequest): void {
    this.seen.push(request);
  }
}

/** The same for `wss:` (Node wants an https.Agent there). */
class InspectingHttpsAgent extends https.Agent {
  seen: http.ClientRequest[] = [];
  addRequest(request: http.ClientRequest): void {
    this.seen.push(request);
  }
}

/** An HTTP server on 127.0.0.1 whose 'upgrade' handler answers with `answer`. */
async function rawServer(
  answer: (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void,
): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = http.createServer();
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function accept(req: http.IncomingMessage): string {
  return crypto
    .createHash('sha1')
    .update(`${String(req.headers['sec-websocket-key'])}${GUID}`)
    .digest('base64');
}

/** Runs `client` to its first 'error' (never 'open') and returns the error and the close code. */
async function failure(client: any): Promise<{ error: any; code: number }> {
  const errored = once(client, 'error');
  const closed = once(client, 'close');
  client.on('open', () => assert.fail("unexpected 'open'"));
  const [error] = await errored;
  const [code] = await closed;
  return { error, code };
}

for (const [name, lib] of LIBS) {
  const isIronsock = name === 'ironsock';

  describe(`${name}: constructor checks`, () => {
    test("an invalid URL throws a SyntaxError with ws's text", () => {
      const cases: Array<[string, string]> = [
        ['foo', 'Invalid URL: foo'],
        [
          'bad-scheme://example.com',
          'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"',
        ],
        ['ws+unix:', "The URL's pathname is empty"],
        ['wss://example.com#frag', 'The URL contains a fragment identifier'],
      ];
      for (const [url, message] of cases) {
        assert.throws(
          () => new lib(url),
          (error: any) => {
            assert.ok((error as unknown) instanceof SyntaxError, url);
            assert.equal(error.message, message, url);
            if (isIronsock) {
              assert.equal(error.code, 'INVALID_URL');
              assert.equal(typeof error.explanation, 'string');
            }
            return true;
          },
        );
      }
    });

    test("an invalid or repeated subprotocol (null included) throws ws's SyntaxError", () => {
      for (const protocols of [null, '', 'a,b', ['a', 'a']]) {
        assert.throws(
          () => new lib('ws://localhost', protocols, { agent: new InspectingAgent() }),
          /^SyntaxError: An invalid or duplicated subprotocol was specified$/,
        );
      }
    });

    test('protocolVersion: 8 or 13; 8 sends Sec-WebSocket-Origin; others throw', () => {
      assert.throws(
        () => new lib('ws://localhost', { protocolVersion: 1000, agent: new InspectingAgent() }),
        /^RangeError: Unsupported protocol version: 1000 \(supported versions: 8, 13\)$/,
      );
      const agent = new InspectingAgent();
      const origin = 'https://example.com:8000';
      new lib('ws://localhost', { protocolVersion: 8, origin, agent });
      new lib('ws://localhost', { origin, agent });
      const [eight, thirteen] = agent.seen;
      assert.equal(String(eight.getHeader('sec-websocket-version')), '8');
      assert.equal(eight.getHeader('sec-websocket-origin'), origin);
      assert.equal(eight.getHeader('origin'), undefined);
      assert.equal(String(thirteen.getHeader('sec-websocket-version')), '13');
      assert.equal(thirteen.getHeader('origin'), origin);
    });

    test('the request is made by the constructor: the agent has it and _req is it', () => {
      const agent = new InspectingAgent();
      const secureAgent = new InspectingHttpsAgent();
      const variants: Array<[string, string]> = [
        ['wss://localhost:8443', 'localhost:8443'],
        ['wss://localhost:443', 'localhost'],
        ['ws://localhost:88', 'localhost:88'],
        ['ws://localhost:80', 'localhost'],
      ];
      for (const [url, host] of variants) {
        const secure = url.startsWith('wss:');
        const ws = new lib(url, { agent: secure ? secureAgent : agent });
        assert.ok(ws._req instanceof http.ClientRequest, url);
        assert.equal(ws._req, (secure ? secureAgent : agent).seen.at(-1), url);
        assert.equal(ws._req.getHeader('host'), host, url);
      }
      assert.equal(agent.seen.length + secureAgent.seen.length, 4);
      assert.equal(agent.seen[0].getHeader('sec-websocket-protocol'), undefined);
    });

    test('credentials in the URL win over the auth option', () => {
      const agent = new InspectingAgent();
      new lib('ws://baz:qux@localhost', { auth: 'foo:bar', agent });
      new lib('ws://localhost', { auth: 'foo:bar', agent });
      assert.deepEqual(
        agent.seen.map((request) => request.getHeader('authorization')),
        [
          `Basic ${Buffer.from('baz:qux').toString('base64')}`,
          `Basic ${Buffer.from('foo:bar').toString('base64')}`,
        ],
      );
    });

    test('createConnection gets the host and the port as the URL writes it', T, async () => {
      const raw = await rawServer((req, socket) => {
        assert.equal(req.headers.host, 'example.invalid:22');
        socket.end(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${accept(req)}\r\n\r\n`,
        );
      });
      const seen: unknown[] = [];
      const ws = new lib('ws://example.invalid:22/x', {
        createConnection: (options: { host: string; port: unknown }) => {
          seen.push(options.host, options.port);
          return net.createConnection({ host: '127.0.0.1', port: raw.port });
        },
      });
      await once(ws, 'open');
      assert.deepEqual(seen, ['example.invalid', '22']);
      assert.equal(ws.url, 'ws://example.invalid:22/x');
      ws.terminate();
      await raw.close();
    });
  });

  describe(`${name}: handshake failures`, () => {
    const switching = (req: http.IncomingMessage, extra = ''): string =>
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept(req)}\r\n${extra}\r\n`;
    const cases: Array<{
      label: string;
      response: (req: http.IncomingMessage) => string;
      protocols?: string[];
      options?: Record<string, unknown>;
      message: string;
      code: string;
    }> = [
      {
        label: 'Upgrade is not websocket',
        response: () =>
          'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n',
        message: 'Invalid Upgrade header',
        code: 'MISSING_UPGRADE',
      },
      {
        label: 'a wrong Sec-WebSocket-Accept',
        response: () =>
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Accept: CxYS6+NgJSBG74mdgLvGscRvpns=\r\n\r\n',
        message: 'Invalid Sec-WebSocket-Accept header',
        code: 'BAD_ACCEPT',
      },
      {
        label: 'an extension when none was offered',
        response: (req) => switching(req, 'Sec-WebSocket-Extensions: foo\r\n'),
        options: { perMessageDeflate: false },
        message: 'Server sent a Sec-WebSocket-Extensions header but no extension was requested',
        code: 'UNOFFERED_EXTENSION',
      },
      {
        label: 'an extension that was not offered',
        response: (req) => switching(req, 'Sec-WebSocket-Extensions: permessage-deflate,foo\r\n'),
        message: 'Server indicated an extension that was not requested',
        code: 'UNOFFERED_EXTENSION',
      },
      {
        label: 'a malformed Sec-WebSocket-Extensions',
        response: (req) => switching(req, 'Sec-WebSocket-Extensions: foo;=\r\n'),
        message: 'Invalid Sec-WebSocket-Extensions header',
        code: 'MALFORMED_EXTENSIONS',
      },
      {
        label: 'permessage-deflate parameters out of range',
        response: (req) =>
          switching(
            req,
            'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7\r\n',
          ),
        message: 'Invalid Sec-WebSocket-Extensions header',
        code: 'INVALID_EXTENSION_PARAMS',
      },
      {
        label: 'a subprotocol when none was requested',
        response: (req) => switching(req, 'Sec-WebSocket-Protocol: foo\r\n'),
        message: 'Server sent a subprotocol but none was requested',
        code: 'UNOFFERED_PROTOCOL',
      },
      {
        label: 'a subprotocol that was not offered',
        response: (req) => switching(req, 'Sec-WebSocket-Protocol: baz\r\n'),
        protocols: ['foo', 'bar'],
        message: 'Server sent an invalid subprotocol',
        code: 'UNOFFERED_PROTOCOL',
      },
    ];
    for (const { label, response, protocols, options, message, code } of cases) {
      test(
        `${label}: ws's message${isIronsock ? `, code ${code}, explanation` : ''}`,
        T,
        async () => {
          const raw = await rawServer((req, socket) => {
            socket.on('error', () => {});
            socket.end(response(req));
          });
          const ws = new lib(`ws://127.0.0.1:${raw.port}`, protocols, options);
          const { error, code: closeCode } = await failure(ws);
          assert.equal(error.message, message);
          assert.equal(closeCode, 1006);
          if (isIronsock) {
            assert.equal(error.code, code);
            assert.equal(typeof error.explanation, 'string');
            assert.ok(error.explanation.length > 0);
          }
          await raw.close();
        },
      );
    }

    test("the handshake timeout: 'Opening handshake has timed out'", T, async () => {
      const raw = await rawServer(() => {});
      const ws = new lib(`ws://127.0.0.1:${raw.port}`, { handshakeTimeout: 100 });
      const { error } = await failure(ws);
      assert.equal(error.message, 'Opening handshake has timed out');
      if (isIronsock) {
        assert.equal(error.code, 'HANDSHAKE_TIMEOUT');
        assert.equal(error.explanation, 'Opening handshake has timed out after 100 ms');
      }
      await raw.close();
    });
  });

  describe(`${name}: close() while connecting`, () => {
    test(
      "from an 'unexpected-response' listener: 'error' (closed before established), then 'close'",
      T,
      async () => {
        const raw = await rawServer((req, socket) => {
          socket.on('end', () => socket.end());
          socket.write(
            'HTTP/1.1 502 Bad Gateway\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nfoo',
          );
        });
        const ws = new lib(`ws://127.0.0.1:${raw.port}`);
        let body = '';
        ws.on('unexpected-response', (_req: unknown, res: http.IncomingMessage) => {
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => ws.close());
        });
        const { error, code } = await failure(ws);
        assert.equal(body, 'foo');
        assert.equal(error.message, 'WebSocket was closed before the connection was established');
        assert.equal(code, 1006);
        if (isIronsock) assert.equal(error.code, 'ABORTED');
        await raw.close();
      },
    );
  });

  describe(`${name}: bufferedAmount`, () => {
    test(
      'right after close() it is 0 (the Close frame went to the kernel); later sends are counted',
      T,
      async () => {
        const wss = new lib.Server({ host: '127.0.0.1', port: 0 });
        await once(wss, 'listening');
        const client = new lib(`ws://127.0.0.1:${wss.address().port}`);
        const [server] = await once(wss, 'connection');
        server.close();
        assert.equal(server.bufferedAmount, 0);
        const [error] = await new Promise<any[]>((resolve) =>
          server.ping('hi', undefined, (...args: any[]) => resolve(args)),
        );
        assert.equal(error.message, 'WebSocket is not open: readyState 2 (CLOSING)');
        assert.equal(server.bufferedAmount, 2);
        await once(client, 'close');
        await new Promise((resolve) => wss.close(resolve));
      },
    );
  });

  describe(`${name}: redirects`, () => {
    test('not followed by default: Unexpected server response, _redirects 0', T, async () => {
      const raw = await rawServer((req, socket) =>
        socket.end('HTTP/1.1 301 Moved Permanently\r\nLocation: ws://localhost:8080\r\n\r\n'),
      );
      const ws = new lib(`ws://127.0.0.1:${raw.port}`);
      const { error } = await failure(ws);
      assert.equal(error.message, 'Unexpected server response: 301');
      assert.equal(ws._redirects, 0);
      await raw.close();
    });

    test(
      "followed: 'redirect' (url, request), ws.url and _redirects; the first credentials stay on the same origin",
      T,
      async () => {
        const wss = new lib.Server({ noServer: true, path: '/foo' });
        const authorizations: unknown[] = [];
        let port = 0;
        const raw = await rawServer((req, socket, head) => {
          authorizations.push(req.headers.authorization);
          if (req.url === '/foo') {
            wss.handleUpgrade(req, socket, head, (ws: any) => ws.close());
            return;
          }
          socket.end(`HTTP/1.1 302 Found\r\nLocation: ws://baz:qux@127.0.0.1:${port}/foo\r\n\r\n`);
        });
        port = raw.port;
        const ws = new lib(`ws://foo:bar@127.0.0.1:${port}`, { followRedirects: true });
        const redirected: unknown[] = [];
        ws.on('redirect', (url: string, request: unknown) =>
          redirected.push(url, request instanceof http.ClientRequest, ws._redirects),
        );
        const [code] = await once(ws, 'close');
        assert.equal(code, 1005);
        assert.deepEqual(redirected, [`ws://baz:qux@127.0.0.1:${port}/foo`, true, 1]);
        assert.equal(ws.url, `ws://baz:qux@127.0.0.1:${port}/foo`);
        assert.equal(ws._redirects, 1);
        const first = `Basic ${Buffer.from('foo:bar').toString('base64')}`;
        assert.deepEqual(authorizations, [first, first]);
        await new Promise((resolve) => wss.close(resolve));
        await raw.close();
      },
    );

    test(
      "a 'redirect' listener that aborts the request: 'socket hang up', close 1006",
      T,
      async () => {
        const raw = await rawServer((req, socket) =>
          socket.end('HTTP/1.1 302 Found\r\nLocation: /foo\r\n\r\n'),
        );
        const ws = new lib(`ws://127.0.0.1:${raw.port}`, { followRedirects: true });
        ws.on('redirect', (_url: string, request: http.ClientRequest) => {
          request.on('socket', () => request.destroy());
        });
        const { error, code } = await failure(ws);
        assert.equal(error.message, 'socket hang up');
        assert.equal(code, 1006);
        if (isIronsock) assert.equal(error.code, 'CONNECTION_CLOSED');
        await raw.close();
      },
    );

    test("maxRedirects: 'Maximum redirects exceeded' with _redirects = max + 1", T, async () => {
      const raw = await rawServer((req, socket) =>
        socket.end('HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n'),
      );
      const ws = new lib(`ws://127.0.0.1:${raw.port}`, { followRedirects: true, maxRedirects: 1 });
      const { error } = await failure(ws);
      assert.equal(error.message, 'Maximum redirects exceeded');
      assert.equal(ws._redirects, 2);
      if (isIronsock) assert.equal(error.code, 'TOO_MANY_REDIRECTS');
      await raw.close();
    });

    for (const [location, message] of [
      ['ws://', 'Invalid URL: ws://'],
      [
        'bad-scheme://localhost',
        'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"',
      ],
    ]) {
      test(`a Location of ${location}: a SyntaxError with ws's text`, T, async () => {
        const raw = await rawServer((req, socket) =>
          socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\n\r\n`),
        );
        const ws = new lib(`ws://127.0.0.1:${raw.port}`, { followRedirects: true });
        const { error } = await failure(ws);
        assert.ok((error as unknown) instanceof SyntaxError);
        assert.equal(error.message, message);
        assert.equal(ws._redirects, 1);
        if (isIronsock) assert.equal(error.code, 'REDIRECT_INVALID');
        await raw.close();
      });
    }

    test('to a ws+unix: socket (documented difference: ironsock refuses it)', T, async (t) => {
      if (process.platform === 'win32') return t.skip('no unix sockets');
      const ipc = path.join(
        os.tmpdir(),
        `ironsock-compat-${crypto.randomBytes(4).toString('hex')}.sock`,
      );
      const target = http.createServer();
      const wss = new lib.Server({ server: target });
      await new Promise<void>((resolve) => target.listen(ipc, resolve));
      const raw = await rawServer((req, socket) =>
        socket.end(`HTTP/1.1 302 Found\r\nLocation: ws+unix:${ipc}\r\n\r\n`),
      );
      const ws = new lib(`ws://127.0.0.1:${raw.port}`, { followRedirects: true });
      if (isIronsock) {
        const { error } = await failure(ws);
        assert.equal(error.code, 'REDIRECT_INVALID');
      } else {
        wss.on('connection', (server: any) => server.close());
        assert.equal((await once(ws, 'close'))[0], 1005);
      }
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => target.close(resolve));
      await raw.close();
      fs.rmSync(ipc, { force: true });
    });
  });

  describe(`${name}: TLS`, () => {
    test("servername '' sends no SNI; by default the host name is sent", T, async (t) => {
      let cert;
      try {
        cert = makeCert('localhost', 'DNS:localhost');
      } catch (error) {
        if (process.env.CI === 'true') throw error;
        return t.skip(`openssl unavailable: ${(error as Error).message}`);
      }
      const server = https.createServer(cert);
      const wss = new lib.Server({ server });
      const names: unknown[] = [];
      server.on('secureConnection', (socket: TLSSocket) => names.push(socket.servername));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      for (const options of [{ servername: '' }, {}]) {
        const ws = new lib(`wss://localhost:${port}`, { ...options, rejectUnauthorized: false });
        await once(ws, 'open');
        ws.close();
        await once(ws, 'close');
      }
      assert.deepEqual(names, [false, 'localhost']);
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    });
  });

  describe(`${name}: Blob sends`, () => {
    test(
      "terminate() while a Blob is read: callbacks get 'The socket was closed while the blob was being read'",
      T,
      async () => {
        const wss = new lib.Server({ host: '127.0.0.1', port: 0 });
        await once(wss, 'listening');
        const ws = new lib(`ws://127.0.0.1:${wss.address().port}`);
        await once(ws, 'open');
        const errors: string[] = [];
        ws.send(new Blob(['foo']), (error: Error) => errors.push(error.message));
        ws.send('bar', (error: Error) => errors.push(error.message));
        ws.terminate();
        await once(ws, 'close');
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(errors, [
          'The socket was closed while the blob was being read',
          'The socket was closed while the blob was being read',
        ]);
        for (const client of wss.clients) client.terminate();
        await new Promise((resolve) => wss.close(resolve));
      },
    );

    test(
      "a Blob whose read fails after the close: the callback gets the read error, no 'error'",
      T,
      async () => {
        let fail!: (error: Error) => void;
        const reading = new Promise<ArrayBuffer>((_resolve, reject) => (fail = reject));
        class StuckBlob extends Blob {
          override arrayBuffer(): Promise<ArrayBuffer> {
            return reading;
          }
        }
        const wss = new lib.Server({ host: '127.0.0.1', port: 0 });
        await once(wss, 'listening');
        const ws = new lib(`ws://127.0.0.1:${wss.address().port}`);
        const errors: unknown[] = [];
        ws.on('error', (error: unknown) => errors.push(error));
        await once(ws, 'open');
        const called = new Promise<any[]>((resolve) =>
          ws.send(new StuckBlob(['x']), (...args: any[]) => resolve(args)),
        );
        for (const client of wss.clients) client.terminate();
        await once(ws, 'close');
        const readError = new DOMException('The blob could not be read', 'NotReadableError');
        fail(readError);
        const [error] = await called;
        assert.equal(error, readError);
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(errors, []);
        await new Promise((resolve) => wss.close(resolve));
      },
    );
  });
}
