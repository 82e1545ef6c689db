/**
 * Plain-words advice for the audit report: for each check, what a FAIL (or WARN) means for the
 * people running the server, and how to fix it, a few words each. Read by someone who is not a
 * WebSocket expert, so no section numbers here (the detailed lines keep them).
 */

/** What a problem means and how to fix it. */
export interface Advice {
  means: string;
  fix: string;
}

const ORIGIN: Advice = {
  means:
    'any website your users visit can open a connection to your server with their cookies and act as them',
  fix: 'check the Origin header against a list of your own sites (ironsock does this by default; ws: verifyClient)',
};
const FORM: Advice = {
  means: 'a plain HTML form on another site can reach your WebSocket endpoint',
  fix: 'upgrade only GET requests with Upgrade: websocket and Connection: Upgrade; answer others 405 or 426',
};
const KEY: Advice = {
  means: 'the server accepts requests that are not real WebSocket handshakes',
  fix: 'refuse the handshake (400) unless Sec-WebSocket-Key is one base64 value of 16 bytes',
};
const VERSION: Advice = {
  means: 'clients speaking an obsolete draft of the protocol are accepted',
  fix: 'accept only Sec-WebSocket-Version 13 and answer 426 with Sec-WebSocket-Version: 13',
};
const FRAMING: Advice = {
  means:
    "the server keeps going after a broken frame, so its view of the stream can differ from the client's or a proxy's",
  fix: 'close the connection with 1002 on any frame that breaks the protocol (use a maintained WebSocket library)',
};
const UTF8: Advice = {
  means: 'invalid text reaches your application, logs and other clients',
  fix: 'validate UTF-8 of text messages and close with 1007 (do not turn validation off)',
};
const CLOSE: Advice = {
  means: 'malformed close frames are accepted or echoed back',
  fix: 'validate close frames: a 2-byte valid code, a UTF-8 reason; answer 1002 otherwise',
};

/** Advice by check id. */
const ADVICE: Record<string, Advice> = {
  accept: {
    means: 'standard clients cannot connect, or cannot trust that they reached a WebSocket server',
    fix: 'answer 101 with the correct Sec-WebSocket-Accept value (use a maintained WebSocket library)',
  },
  echo: {
    means: 'the audit could not confirm that messages are delivered',
    fix: 'nothing required; audit an echo endpoint to get firmer evidence',
  },
  'origin-cross': ORIGIN,
  'origin-null': {
    means: 'a page in a sandboxed frame on any site can connect as your users',
    fix: 'refuse Origin: null unless you really serve such pages',
  },
  'origin-scheme': {
    means: 'a page on plain http (which a network attacker can inject) counts as your https site',
    fix: 'compare the whole origin, scheme included, with your allow-list',
  },
  'form-urlencoded': FORM,
  'form-multipart': FORM,
  'form-text-plain': FORM,
  'plain-get': {
    means: 'ordinary HTTP requests are switched to WebSocket',
    fix: 'upgrade only requests with Upgrade: websocket; answer plain ones 426',
  },
  'key-missing': KEY,
  'key-short': KEY,
  'key-long': KEY,
  'key-non-base64': KEY,
  'key-duplicate': {
    means: 'a proxy and your server may read different keys from the same request',
    fix: 'refuse requests with two Sec-WebSocket-Key headers (400)',
  },
  'version-missing': VERSION,
  'version-8': VERSION,
  'version-12': VERSION,
  'version-14': VERSION,
  'http-1.0': {
    means: 'requests that proxies handle differently are upgraded',
    fix: 'refuse HTTP/1.0 handshakes (400 or 505)',
  },
  'host-missing': {
    means: 'the server cannot check which site the client asked for',
    fix: 'refuse handshakes without a Host header (400)',
  },
  'host-duplicate': {
    means: 'a proxy may route on one Host while your server checks the other',
    fix: 'refuse requests with two Host headers (400)',
  },
  'dns-rebinding': {
    means: 'a web page can reach this server on your machine or network through DNS rebinding',
    fix: 'check the Host header against the names you serve (ironsock: allowedHosts)',
  },
  'refusal-closes': {
    means:
      'bytes after a refused handshake are read as a new request (request smuggling through a proxy)',
    fix: 'close the connection after every refused handshake (Connection: close)',
  },
  'large-head': {
    means: 'each handshake can make the server hold a lot of memory',
    fix: 'cap the request head (16 KiB and about 100 header lines are plenty) and answer 431',
  },
  slowloris: {
    means: 'a few clients sending a header byte now and then can hold all your connection slots',
    fix: 'give the handshake a deadline (ironsock: handshakeTimeout, 10 s by default)',
  },
  unmasked: FRAMING,
  'opcode-reserved': FRAMING,
  'rsv-bits': FRAMING,
  'control-too-long': FRAMING,
  'control-fragmented': FRAMING,
  'continuation-unexpected': FRAMING,
  'fragment-interleaved': FRAMING,
  'length-msb': {
    means: 'a crafted frame length can be read as negative or huge by the server',
    fix: 'close with 1002 when the top bit of a 64-bit length is set',
  },
  'utf8-invalid': UTF8,
  'utf8-fail-fast': {
    means: 'the server buffers whole messages it will reject anyway, which costs memory',
    fix: 'validate UTF-8 as fragments arrive and close with 1007 at the first bad byte',
  },
  'close-one-byte': CLOSE,
  'close-codes': CLOSE,
  'close-reason-utf8': CLOSE,
  'huge-length': {
    means: 'one frame header can make the server allocate or wait for a terabyte',
    fix: 'check the declared length against a message limit before reading it, close with 1009',
  },
  'message-limit': {
    means: 'each client can make the server hold very large messages in memory',
    fix: 'set a message size limit that fits your use (ironsock: maxPayload, 1 MiB by default)',
  },
  'tiny-fragments': {
    means:
      'a message split into thousands of tiny pieces costs far more memory and CPU than its size',
    fix: 'limit fragments per message or charge a cost per frame (ironsock does by default)',
  },
  'deflate-bomb': {
    means: 'a few kilobytes of compressed data can inflate to gigabytes in your server',
    fix: 'apply the message limit to inflated bytes while inflating, or turn compression off',
  },
  'ping-flood': {
    means: 'a client sending pings without reading can make the server buffer without bound',
    fix: 'rate-limit control frames and keep at most one pending pong per connection',
  },
  'idle-timeout': {
    means: 'silent or vanished clients keep their connections',
    fix: 'ping idle connections and drop those that do not answer (ironsock does by default)',
  },
};

/** What it means when the server stops accepting connections after a probe. */
export const STOPPED_ADVICE: Advice = {
  means:
    'one unauthenticated client sending this can take your whole server down (a crash or a denial of service), for every user',
  fix: "handle 'error' events on every socket (ws: ws.on('error', ...)), keep the library up to date, and run the server under a supervisor that restarts it",
};

/** Advice for a check id; the check's own `why` when there is no entry (e.g. a newer check). */
export function adviceFor(id: string, why: string): Advice {
  return ADVICE[id] ?? { means: why, fix: 'see the detailed line below' };
}
