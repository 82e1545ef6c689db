/**
 * Constructor-time checks of every option of `WebSocketServer` and of the client `WebSocket`.
 *
 * Contract: a value that can never work throws at once, from the constructor, instead of
 * failing at the first handshake (a 500 for every client) or turning silently into a default.
 * Messages have one shape, naming the option by its path and showing the value received:
 *
 * - `TypeError: origins must be an array of origins or a function, got the string 'https://a.example' (write ['https://a.example'])`
 * - `RangeError: maxPayload must be a non-negative integer, got -1`
 *
 * TypeError for a value of the wrong type, RangeError for a value of the right type outside
 * its range. Options this module does not know are left alone (ws ignores them too, and code
 * written for ws passes some of them).
 */
import type { KeepaliveOptions } from './keepalive.js';

/** setTimeout's largest delay (about 24.8 days); larger values would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Bag = Record<string, unknown>;

/** A short, safe rendering of a received value for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    const text = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `the string ${JSON.stringify(text).replace(/^"|"$/g, "'")}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return `an object (${(value as object).constructor?.name ?? 'null prototype'})`;
}

function typeError(name: string, expected: string, value: unknown, hint = ''): TypeError {
  return new TypeError(`${name} must be ${expected}, got ${describeValue(value)}${hint}`);
}

function rangeError(name: string, expected: string, value: unknown, hint = ''): RangeError {
  return new RangeError(`${name} must be ${expected}, got ${String(value)}${hint}`);
}

function isObject(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkBoolean(bag: Bag, key: string, prefix = ''): void {
  const value = bag[key];
  if (value !== undefined && typeof value !== 'boolean') {
    throw typeError(prefix + key, 'true or false', value);
  }
}

function checkString(bag: Bag, key: string, prefix = ''): void {
  const value = bag[key];
  if (value !== undefined && typeof value !== 'string') {
    throw typeError(prefix + key, 'a string', value);
  }
}

function checkFunction(bag: Bag, key: string, prefix = ''): void {
  const value = bag[key];
  if (value !== undefined && typeof value !== 'function') {
    throw typeError(prefix + key, 'a function', value);
  }
}

interface IntegerRule {
  min: number;
  max?: number;
  /** Infinity is accepted (no limit). */
  infinite?: boolean;
  /** Words for the range in the message, e.g. 'a positive integer'. */
  words?: string;
}

/** An integer option within [min, max] (max defaults to the largest safe integer). */
function checkInteger(bag: Bag, key: string, rule: IntegerRule, prefix = ''): void {
  const value = bag[key];
  if (value === undefined) return;
  const name = prefix + key;
  const words = rule.words ?? integerWords(rule);
  if (typeof value !== 'number') throw typeError(name, words, value);
  if (rule.infinite === true && value === Infinity) return;
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(value) || value < rule.min || value > max) {
    throw rangeError(name, words, value);
  }
}

function integerWords(rule: IntegerRule): string {
  const tail = rule.infinite === true ? ' (or Infinity)' : '';
  if (rule.max !== undefined) return `an integer from ${rule.min} to ${rule.max}${tail}`;
  if (rule.min === 0) return `a non-negative integer${tail}`;
  if (rule.min === 1) return `a positive integer${tail}`;
  return `an integer of at least ${rule.min}${tail}`;
}

const DURATION: IntegerRule = { min: 1, max: MAX_TIMER_MS, words: 'a positive integer of ms' };

/** `keepalive`: true/false or `{ interval, timeout }` with positive durations. */
function checkKeepalive(bag: Bag): void {
  const value = bag.keepalive;
  if (value === undefined || typeof value === 'boolean') return;
  if (!isObject(value)) {
    throw typeError(
      'keepalive',
      'true, false or { interval, timeout } in ms',
      value,
      typeof value === 'number' ? ' (write keepalive: false to turn it off)' : '',
    );
  }
  const options = value as KeepaliveOptions & Bag;
  checkInteger(options, 'interval', DURATION, 'keepalive.');
  checkInteger(options, 'timeout', DURATION, 'keepalive.');
}

/** `limits`: the engine limits of `src/protocol/limits.ts`. */
function checkLimits(bag: Bag): void {
  const value = bag.limits;
  if (value === undefined) return;
  if (!isObject(value)) throw typeError('limits', 'an object', value);
  for (const key of ['maxPayload', 'maxFrameSize', 'maxMessageCost', 'fragmentOverhead']) {
    checkInteger(value, key, { min: 0 }, 'limits.');
  }
}

const WINDOW_BITS: IntegerRule = { min: 8, max: 15 };

/** permessage-deflate options (RFC 7692 §7.1), shared by server and client. */
function checkDeflate(bag: Bag): void {
  const value = bag.perMessageDeflate;
  if (value === undefined || typeof value === 'boolean') return;
  if (!isObject(value)) {
    throw typeError('perMessageDeflate', 'true, false or an options object', value);
  }
  const p = 'perMessageDeflate.';
  checkInteger(value, 'threshold', { min: 0 }, p);
  checkBoolean(value, 'serverNoContextTakeover', p);
  checkBoolean(value, 'clientNoContextTakeover', p);
  // §7.1.2: window bits are 8 to 15; zlib cannot use more.
  checkInteger(value, 'serverMaxWindowBits', WINDOW_BITS, p);
  if (value.clientMaxWindowBits !== true) {
    checkInteger(
      value,
      'clientMaxWindowBits',
      { ...WINDOW_BITS, words: 'true or an integer from 8 to 15' },
      p,
    );
  }
  checkInteger(value, 'concurrencyLimit', { min: 1 }, p);
  const deflate = value.zlibDeflateOptions;
  if (deflate !== undefined) {
    if (!isObject(deflate)) throw typeError(`${p}zlibDeflateOptions`, 'an object', deflate);
    const q = `${p}zlibDeflateOptions.`;
    checkInteger(deflate, 'level', { min: -1, max: 9 }, q);
    checkInteger(deflate, 'memLevel', { min: 1, max: 9 }, q);
    checkInteger(deflate, 'strategy', { min: 0, max: 4 }, q);
    checkInteger(deflate, 'chunkSize', { min: 64 }, q);
  }
  const inflate = value.zlibInflateOptions;
  if (inflate !== undefined) {
    if (!isObject(inflate)) throw typeError(`${p}zlibInflateOptions`, 'an object', inflate);
    checkInteger(inflate, 'chunkSize', { min: 64 }, `${p}zlibInflateOptions.`);
  }
}

/** The per-connection options shared by both sides (`ConnectionTuning`). */
function checkTuning(bag: Bag): void {
  checkInteger(bag, 'maxPayload', { min: 0 });
  checkLimits(bag);
  checkBoolean(bag, 'autoPong');
  checkBoolean(bag, 'skipUTF8Validation');
  checkInteger(bag, 'closeTimeout', DURATION);
  checkInteger(bag, 'maxBufferedAmount', { min: 1, infinite: true });
  const policy = bag.bufferedAmountPolicy;
  if (policy !== undefined && policy !== 'close' && policy !== 'reject') {
    throw (typeof policy === 'string' ? rangeError : typeError)(
      'bufferedAmountPolicy',
      "'close' or 'reject'",
      policy,
    );
  }
  checkInteger(bag, 'maxControlFramesPerSecond', { min: 1, infinite: true });
  checkKeepalive(bag);
  checkDeflate(bag);
}

/** `origins`: an array of origin strings and predicates, or one predicate. */
function checkOrigins(bag: Bag): void {
  const value = bag.origins;
  if (value === undefined || typeof value === 'function') return;
  if (!Array.isArray(value)) {
    throw typeError(
      'origins',
      'an array of origins or a function',
      value,
      typeof value === 'string' ? ` (write origins: [${JSON.stringify(value)}])` : '',
    );
  }
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string' && typeof entry !== 'function') {
      throw typeError(`origins[${i}]`, 'an origin string or a function', entry);
    }
  });
  // The entries' syntax is checked by compileOrigins (HandshakeError INVALID_ORIGIN_POLICY).
}

/** A list of strings (`allowedHosts`, `serverOrigins`). */
function checkStringList(bag: Bag, key: string): string[] | undefined {
  const value = bag[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw typeError(
      key,
      'an array of strings',
      value,
      typeof value === 'string' ? ` (write ${key}: [${JSON.stringify(value)}])` : '',
    );
  }
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string') throw typeError(`${key}[${i}]`, 'a string', entry);
  });
  return value as string[];
}

/**
 * `allowedHosts` entries are what a `Host` header carries: `name`, `name:port`, `*.suffix`, an
 * IP literal; never a URL (a scheme or a path would never match any request).
 */
function checkAllowedHosts(bag: Bag): void {
  const hosts = checkStringList(bag, 'allowedHosts');
  if (hosts === undefined) return;
  hosts.forEach((entry, i) => {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(entry);
    if (scheme !== null) {
      const bare = entry.slice(scheme[0].length).split('/', 1)[0];
      throw rangeError(
        `allowedHosts[${i}]`,
        'a host name as the Host header carries it (name, name:port, *.suffix or an IP), not a URL',
        JSON.stringify(entry),
        ` (write ${JSON.stringify(bare)})`,
      );
    }
    if (entry.length === 0 || /[\s/?#@]/.test(entry)) {
      throw rangeError(
        `allowedHosts[${i}]`,
        'a host name (name, name:port, *.suffix or an IP)',
        JSON.stringify(entry),
      );
    }
  });
}

/** `serverOrigins` entries are origins: `scheme://host[:port]`. */
function checkServerOrigins(bag: Bag): void {
  const origins = checkStringList(bag, 'serverOrigins');
  if (origins === undefined) return;
  origins.forEach((entry, i) => {
    let url: URL | null = null;
    try {
      url = new URL(entry);
    } catch {
      url = null;
    }
    const path = url === null ? '' : url.pathname;
    if (
      url === null ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      (path !== '/' && path !== '') ||
      url.search !== '' ||
      url.hash !== '' ||
      url.username !== ''
    ) {
      throw rangeError(
        `serverOrigins[${i}]`,
        "an origin such as 'https://app.example' or 'https://app.example:8443'",
        JSON.stringify(entry),
      );
    }
  });
}

const NO_MODE = 'One and only one of the "port", "server", or "noServer" options must be specified';

/**
 * Checks every `WebSocketServer` option; see the module comment for the message shapes.
 * @throws TypeError with ws's message when none or several of `port`, `server`, `noServer`
 *   are given (also for no argument at all); TypeError or RangeError for any other bad option.
 */
export function checkServerOptions(options: unknown): void {
  if (options === undefined || options === null) throw new TypeError(NO_MODE);
  if (!isObject(options)) throw typeError('options', 'an object', options);
  const o = options;
  const hasPort = o.port !== undefined && o.port !== null;
  const hasServer = o.server !== undefined && o.server !== null;
  if (Number(hasPort) + Number(hasServer) + Number(o.noServer === true) !== 1) {
    throw new TypeError(NO_MODE);
  }
  checkBoolean(o, 'noServer');
  checkInteger(o, 'maxCompressionMemory', { min: 0, infinite: true });
  if (hasPort) {
    const port = o.port;
    // Node's listen() also takes the port as a string of digits.
    const numeric = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
    checkInteger({ port: numeric }, 'port', { min: 0, max: 65535 });
  }
  checkString(o, 'host');
  checkInteger(o, 'backlog', { min: 0 });
  if (hasServer) {
    const server = o.server as { on?: unknown; listeners?: unknown };
    if (typeof server !== 'object' || typeof server.on !== 'function') {
      throw typeError('server', 'an http.Server or https.Server', server);
    }
  }
  const path = o.path;
  if (path !== undefined) {
    if (typeof path !== 'string') throw typeError('path', 'a string', path);
    if (!path.startsWith('/')) {
      throw rangeError('path', "a path starting with '/'", JSON.stringify(path));
    }
  }
  checkFunction(o, 'handleProtocols');
  checkFunction(o, 'verifyClient');
  checkFunction(o, 'WebSocket');
  checkBoolean(o, 'clientTracking');
  checkOrigins(o);
  checkBoolean(o, 'requireOrigin');
  checkBoolean(o, 'unsafeAllowAnyOrigin');
  checkServerOrigins(o);
  checkAllowedHosts(o);
  checkString(o, 'listenAddress');
  checkInteger(o, 'handshakeTimeout', DURATION);
  checkInteger(o, 'maxConnections', { min: 1, infinite: true });
  checkInteger(o, 'maxConnectionsPerAddress', { min: 1, infinite: true });
  checkInteger(o, 'maxHandshakesPerSecond', { min: 1, infinite: true });
  checkInteger(o, 'shutdownTimeout', {
    min: 0,
    max: MAX_TIMER_MS,
    words: 'a non-negative integer of ms',
  });
  checkInteger(o, 'maxHeadersCount', { min: 1 });
  checkTuning(o);
}

/**
 * Checks the options of the client `WebSocket` that this module knows (the connection tuning
 * plus the handshake options); others are left to the handshake code.
 * @throws TypeError or RangeError as described in the module comment.
 */
export function checkClientOptions(options: unknown): void {
  if (options === undefined || options === null) return;
  if (!isObject(options)) throw typeError('options', 'an object', options);
  const o = options;
  if (o.reconnect !== undefined) {
    // A plain WebSocket never reconnects; silently ignoring the option would mislead.
    throw new TypeError(
      'reconnect is an option of ReconnectingWebSocket (a plain WebSocket never reconnects): ' +
        "import { ReconnectingWebSocket } from 'ironsock'",
    );
  }
  checkInteger(o, 'handshakeTimeout', DURATION);
  checkBoolean(o, 'followRedirects');
  checkInteger(o, 'maxRedirects', { min: 0 });
  checkInteger(o, 'maxResponseBodyBytes', { min: 0 });
  checkString(o, 'origin');
  checkString(o, 'auth');
  checkString(o, 'localAddress');
  checkString(o, 'servername');
  checkFunction(o, 'lookup');
  checkBoolean(o, 'rejectUnauthorized');
  const family = o.family;
  if (family !== undefined && family !== 0 && family !== 4 && family !== 6) {
    throw (typeof family === 'number' ? rangeError : typeError)('family', '4, 6 or 0', family);
  }
  const headers = o.headers;
  if (headers !== undefined && !isObject(headers)) {
    throw typeError('headers', 'an object of header names and values', headers);
  }
  checkTuning(o);
}
