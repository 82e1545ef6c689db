/**
 * ws's client options on ironsock's client (issue #11 group 2), each against a `ws` server and an
 * ironsock server: `agent` (a counting http.Agent and the real `https-proxy-agent`),
 * `createConnection`, `auth` and URL userinfo, `headers`, `origin` (none by default), `http:`
 * URLs and `URL` objects (`url` reports `ws:`), `'upgrade'` and `'unexpected-response'` with
 * Node's real objects, `servername`, and Node's `HPE_*` code for a garbage response.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import WS, { WebSocketServer as WsServer } from 'ws';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { WebSocket } from '../../src/node/websocket.js';
import '../../src/node/client.js'; // installs the client handshake
import { WebSocketServer as IronServer } from '../../src/node/server.js';
import { closeServerNow, once } from './util.js';
import { makeCert, type TestCert } from '../helpers/certs.js';
import { startConnectProxy } from '../helpers/proxy.js';

/** A server under test: records each upgrade request and echoes messages. */
interface Peer {
  readonly name: string;
  readonly port: number;
  /** Headers of the upgrade requests that reached a connection, in order. */
  readonly requests: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** Refuses the path `/deny` with 401 'Unauthorized', accepts the rest. */
function verify(
  info: { req: http.IncomingMessage },
  callback: (ok: boolean, code?: number, message?: string) => void,
): void {
  if (info.req.url === '/deny') callback(false, 401, 'Unauthorized');
  else callback(true);
}

type Echo = {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown;
  send(data: Buffer, options: { binary: boolean }): unknown;
};

function record(
  server: {
    on(event: 'connection', listener: (ws: Echo, req: http.IncomingMessage) => void): unknown;
  },
  requests: http.IncomingHttpHeaders[],
): void {
  server.on('connection', (ws, req) => {
    requests.push(req.headers);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

async function wsPeer(server?: https.Server): Promise<Peer> {
  const requests: http.IncomingHttpHeaders[] = [];
  let wss: WsServer;
  if (server === undefined) {
    wss = new WsServer({ port: 0, host: '127.0.0.1', verifyClient: verify });
    await once(wss, 'listening');
  } else {
    wss = new WsServer({ server, verifyClient: verify });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  record(wss as never, requests);
  const port = ((server ?? wss).address() as net.AddressInfo).port;
  return {
    name: 'ws server',
    port,
    requests,
    close: () => closeServerNow(wss, server),
  };
}

async function ironsockPeer(server?: https.Server): Promise<Peer> {
  const requests: http.IncomingHttpHeaders[] = [];
  const common = {
    verifyClient: verify,
    origins: ['http://me.example'],
    allowedHosts: ['example.invalid', 'localhost'],
  };
  let wss: IronServer;
  if (server === undefined) {
    wss = new IronServer({ port: 0, host: '127.0.0.1', ...common });
    await once(wss, 'listening');
  } else {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    wss = new IronServer({ server, ...common });
  }
  record(wss as never, requests);
  const port = ((server ?? wss).address() as net.AddressInfo).port;
  return {
    name: 'ironsock server',
    port,
    requests,
    close: () => closeServerNow(wss, server),
  };
}

/** Opens (unless `opened` already waits for it), checks one echo, closes. */
async function openEchoClose(ws: WebSocket, opened = once(ws, 'open')): Promise<void> {
  ws.on('error', () => {});
  await opened;
  ws.send('hi');
  const [data] = await once<[Buffer]>(ws, 'message');
  assert.equal(data.toString(), 'hi');
  ws.close(1000);
  await once(ws, 'close');
}

const basic = (credentials: string): string =>
  `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

for (const makePeer of [wsPeer, ironsockPeer]) {
  describe(`client options against the ${makePeer === wsPeer ? 'ws' : 'ironsock'} server`, () => {
    let peer: Peer;
    before(async () => {
      peer = await makePeer();
    });
    after(() => peer.close());
    const base = (): string => `ws://127.0.0.1:${peer.port}`;
    const last = (): http.IncomingHttpHeaders => peer.requests[peer.requests.length - 1];

    test('headers are sent; no Origin by default; origin sends one', async () => {
      await openEchoClose(new WebSocket(`${base()}/`, { headers: { 'X-Trace': 'abc' } }));
      assert.equal(last()['x-trace'], 'abc');
      assert.equal(last().origin, undefined);
      await openEchoClose(new WebSocket(`${base()}/`, { origin: 'http://me.example' }));
      assert.equal(last().origin, 'http://me.example');
    });

    test('URL userinfo and auth become Basic Authorization (the URL first, as ws); an Authorization header wins', async () => {
      await openEchoClose(new WebSocket(`ws://u:p%40ss@127.0.0.1:${peer.port}/`));
      assert.equal(last().authorization, basic('u:p@ss'));
      await openEchoClose(
        new WebSocket(`ws://u:p@127.0.0.1:${peer.port}/`, { auth: 'alice:s3cret' }),
      );
      assert.equal(last().authorization, basic('u:p'));
      await openEchoClose(new WebSocket(`${base()}/`, { auth: 'alice:s3cret' }));
      assert.equal(last().authorization, basic('alice:s3cret'));
      await openEchoClose(
        new WebSocket(`${base()}/`, { auth: 'a:b', headers: { Authorization: 'Bearer t' } }),
      );
      assert.equal(last().authorization, 'Bearer t');
    });

    test('http: URLs and URL objects connect; url reports ws:', async () => {
      const fromString = new WebSocket(`http://127.0.0.1:${peer.port}/x?y=1`);
      assert.equal(fromString.url, `ws://127.0.0.1:${peer.port}/x?y=1`);
      await openEchoClose(fromString);
      const fromObject = new WebSocket(new URL(`http://127.0.0.1:${peer.port}/z`));
      assert.equal(fromObject.url, `ws://127.0.0.1:${peer.port}/z`);
      await openEchoClose(fromObject);
    });

    test('agent: the request goes through the given http.Agent', async () => {
      let created = 0;
      class CountingAgent extends http.Agent {
        override createConnection(
          ...args: Parameters<http.Agent['createConnection']>
        ): ReturnType<http.Agent['createConnection']> {
          created++;
          return super.createConnection(...args);
        }
      }
      const agent = new CountingAgent();
      await openEchoClose(new WebSocket(`${base()}/`, { agent }));
      assert.equal(created, 1);
      agent.destroy();
    });

    test('agent: https-proxy-agent tunnels through a CONNECT proxy', async () => {
      const proxy = await startConnectProxy({ delayMs: 0 });
      try {
        const agent = new HttpsProxyAgent(proxy.url);
        await openEchoClose(new WebSocket(`${base()}/agent`, { agent }));
        assert.equal(proxy.connects.length, 1);
        assert.equal(proxy.connects[0].target, `127.0.0.1:${peer.port}`);
      } finally {
        await proxy.close();
      }
    });

    test('createConnection makes the connection; Host still names the URL host', async () => {
      const seen: Array<string | null | undefined> = [];
      const ws = new WebSocket(`ws://example.invalid:${peer.port}/`, {
        createConnection: (options: http.ClientRequestArgs) => {
          seen.push(options.host);
          return net.connect({ host: '127.0.0.1', port: peer.port });
        },
      });
      await openEchoClose(ws);
      assert.deepEqual(seen, ['example.invalid']);
      assert.equal(last().host, `example.invalid:${peer.port}`);
    });

    test("'upgrade' gets Node's IncomingMessage for the 101", async () => {
      const ws = new WebSocket(`${base()}/`);
      const opened = once(ws, 'open');
      const [response] = await once<[http.IncomingMessage]>(ws, 'upgrade');
      assert.ok(response instanceof http.IncomingMessage);
      assert.equal(response.statusCode, 101);
      assert.equal(typeof response.headers['sec-websocket-accept'], 'string');
      await openEchoClose(ws, opened);
    });

    test("'unexpected-response' gets (ClientRequest, IncomingMessage); res.on works; close 1006 without error", async () => {
      const ws = new WebSocket(`${base()}/deny`);
      const errors: Error[] = [];
      ws.on('error', (error) => errors.push(error));
      const [request, response] = await once<[http.ClientRequest, http.IncomingMessage]>(
        ws,
        'unexpected-response',
      );
      assert.ok(request instanceof http.ClientRequest);
      assert.equal(request.path, '/deny');
      assert.ok(response instanceof http.IncomingMessage);
      assert.equal(response.statusCode, 401);
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      const ended = once(response, 'end');
      const [code] = await once<[number]>(ws, 'close');
      await ended;
      assert.equal(code, 1006);
      assert.match(body, /Unauthorized/);
      assert.deepEqual(errors, []);
    });

    test("without an 'unexpected-response' listener: error 'Unexpected server response: 401'", async () => {
      const ws = new WebSocket(`${base()}/deny`);
      const closed = once<[number]>(ws, 'close');
      const [error] = await once<[Error & { code?: string; statusCode?: number }]>(ws, 'error');
      assert.equal(error.message, 'Unexpected server response: 401');
      assert.equal(error.statusCode, 401);
      const [code] = await closed;
      assert.equal(code, 1006);
    });

    test("'unexpected-response': the listener may end it with request.destroy(); close 1006, no error", async () => {
      const ws = new WebSocket(`${base()}/deny`);
      const errors: Error[] = [];
      ws.on('error', (error) => errors.push(error));
      ws.on('unexpected-response', (request: http.ClientRequest) => request.destroy());
      const [code] = await once<[number]>(ws, 'close');
      assert.equal(code, 1006);
      assert.deepEqual(errors, []);
    });

    test('finishRequest finishes the upgrade request instead of end(), from the constructor as ws', async () => {
      const finished: string[] = [];
      const given: unknown[] = [];
      const ws = new WebSocket(`${base()}/fin`, {
        finishRequest: (request: http.ClientRequest, websocket: unknown) => {
          finished.push(request.path);
          given.push(websocket, (websocket as WebSocket)._req === request);
          request.end();
        },
      });
      // Called before the constructor returned (ws does the same), with the request as `_req`.
      assert.deepEqual(finished, ['/fin']);
      assert.deepEqual(given, [ws, true]);
      await openEchoClose(ws);
      assert.equal(ws._req, null);
    });

    test('the ws package as client oracle agrees on the same server (unexpected-response, userinfo)', async () => {
      const oracle = new WS(`ws://u:p@127.0.0.1:${peer.port}/deny`);
      oracle.on('error', () => {});
      const [, response] = await once<[http.ClientRequest, http.IncomingMessage]>(
        oracle,
        'unexpected-response',
      );
      assert.equal(response.statusCode, 401);
      oracle.terminate();
    });
  });
}

describe('servername (SNI) over wss:, against both servers', () => {
  let cert: TestCert | undefined;
  let reason = '';
  before(() => {
    try {
      // A certificate for the name only: connecting to 127.0.0.1 needs servername to verify.
      cert = makeCert('localhost', 'DNS:localhost');
    } catch (error) {
      reason = `openssl unavailable: ${(error as Error).message}`;
    }
  });

  for (const makePeer of [wsPeer, ironsockPeer]) {
    test(`servername is sent as SNI and checked (${makePeer === wsPeer ? 'ws' : 'ironsock'} server)`, async (t) => {
      if (cert === undefined) {
        if (process.env.CI === 'true') assert.fail(reason);
        t.skip(reason);
        return;
      }
      const server = https.createServer({ key: cert.key, cert: cert.cert });
      const names: Array<string | false | null> = [];
      server.on('secureConnection', (socket: TLSSocket) => names.push(socket.servername));
      const peer = await makePeer(server);
      try {
        const url = `wss://127.0.0.1:${peer.port}/`;
        await openEchoClose(new WebSocket(url, { ca: cert.cert, servername: 'localhost' }));
        assert.deepEqual(names, ['localhost']);
        // Without it there is no SNI for an IP literal, and the name check fails (K7).
        const refused = new WebSocket(url, { ca: cert.cert });
        const [error] = await once<[Error & { code?: string }]>(refused, 'error');
        assert.equal(error.code, 'TLS_FAILED');
      } finally {
        await peer.close();
      }
    });
  }
});

describe("Node's HTTP parser errors", () => {
  test('a garbage response fails with an HPE_* code', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`);
      const closed = once<[number]>(ws, 'close');
      const [error] = await once<[Error & { code?: string }]>(ws, 'error');
      assert.match(error.code ?? '', /^HPE_/);
      const [code] = await closed;
      assert.equal(code, 1006);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
