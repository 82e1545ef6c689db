/**
 * Node-level limits and defaults of ironsock, in one place, each with the attack it blunts
 * (STYLE.md §8). The engine's own limits (message size, fragment budget) live in
 * `src/protocol/limits.ts`; these are the ones that need clocks, sockets or a process.
 */

/**
 * Time allowed from the first byte of an upgrade request (or the TCP accept in standalone mode)
 * to the server's answer, in milliseconds. Default 10 s.
 * Blunts slowloris-style handshakes that hold a socket and a parser open forever
 * (CVE-2018-12122, checklist H7), and async `verifyClient` callbacks that never answer.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Time we wait for the peer's Close frame after sending ours, in milliseconds; then the TCP
 * connection is destroyed and the close is reported with code 1006. Default 10 s.
 * Blunts peers that never finish the closing handshake and pin a socket (CVE-2024-23672, X3).
 * Also bounds how long a server waits for the client's FIN after the close handshake.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

/**
 * Cap of the outgoing backlog of one connection, in bytes (the `bufferedAmount`: socket buffer +
 * engine backlog + our own queue). Default 1 MiB. A send is refused once the backlog is at or
 * above the cap, so the backlog stays below the cap plus one message; a single message larger
 * than the cap is still accepted onto a backlog below it.
 * Blunts slow readers that never read while the server keeps sending or broadcasting: without
 * a cap the server's memory grows without bound (CVE-2020-35896 class, R4).
 */
export const DEFAULT_MAX_BUFFERED_AMOUNT = 1024 * 1024;

/**
 * What happens when a send would pass `maxBufferedAmount`:
 * `'close'` fails the connection with SEND_BUFFER_FULL (Close 1008, then TCP destroyed);
 * `'reject'` refuses that one send (its callback/promise gets a `SendBufferFullError`),
 * queues nothing, and leaves the connection open.
 */
export type BufferedAmountPolicy = 'close' | 'reject';
export const DEFAULT_BUFFERED_AMOUNT_POLICY: BufferedAmountPolicy = 'close';

/**
 * Server-wide budget for permessage-deflate state kept between messages (zlib contexts under
 * context takeover), in bytes. Default 64 MiB: about 230 connections with context takeover in
 * both directions (about 290 KiB reserved each), then about 1,000 more keeping only their
 * decompressor; past that, offers are accepted without context takeover, which keeps nothing.
 * Blunts memory exhaustion by many idle compressed connections: without it every compressed
 * connection holds about 250 KiB for as long as it stays open, and nothing caps the total.
 */
export const DEFAULT_MAX_COMPRESSION_MEMORY = 64 * 1024 * 1024;

/**
 * Most control frames (ping + pong) accepted from a peer per `CONTROL_FRAME_WINDOW_MS` before
 * the connection is failed with CONTROL_FLOOD (Close 1008). Default 256 per second.
 * Blunts ping floods that make us write a pong for every ping (amplified CPU and outgoing
 * memory, checklist C4); independently at most one unflushed automatic pong is ever queued.
 */
export const DEFAULT_MAX_CONTROL_FRAMES_PER_WINDOW = 256;
export const CONTROL_FRAME_WINDOW_MS = 1000;

/**
 * Keepalive (on by default on the server, off on the client): a ping after `interval` ms of
 * silence from the peer, and the connection is terminated (local 1006) if nothing arrives within
 * `timeout` ms after it. Defaults 30 s / 20 s. The interval stays well under the common proxy
 * idle timeouts (nginx `proxy_read_timeout` 60 s, AWS ALB 60 s, Heroku 55 s) even with the
 * wheel's 5 s tick, so idle connections survive them.
 * Blunts half-open TCP connections and silent peers that hold memory forever (R5).
 */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 30_000;
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * Largest HTTP head (request line + headers) accepted in the opening handshake, in bytes,
 * and most header lines. Defaults 16 KiB / 100 (Node's own `maxHeaderSize` default is 16 KiB;
 * `server.maxHeadersCount` is set to 100 in standalone mode).
 * Blunts memory and CPU exhaustion by huge or numerous headers (CVE-2024-37890, H6).
 */
export { DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS } from '../protocol/handshake/http-head.js';

/**
 * After a refused handshake the response is written and the socket ended; it is destroyed
 * after this grace period (ms) if the peer does not close. Default 1 s.
 * Blunts peers that keep a refused socket open (and pipelined requests after it, H8).
 */
export const REJECT_GRACE_MS = 1000;

/**
 * Time the server waits in `close()` for clients to answer its Close 1001 before destroying
 * what is left, in milliseconds. Default: the close timeout.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = DEFAULT_CLOSE_TIMEOUT_MS;

/**
 * Messages the async iterator buffers before the socket stops reading (backpressure).
 * Default 16 messages or 1 MiB, whichever comes first.
 */
export const ITERATOR_HIGH_WATER_MESSAGES = 16;
export const ITERATOR_HIGH_WATER_BYTES = 1024 * 1024;

/**
 * Bytes of received messages a `WebSocketStream` queues for its `readable` before the socket stops
 * being read (a text message counts its length). Default 64 KiB.
 * Blunts peers that send faster than the application reads: the excess waits in the peer's
 * buffers and the TCP window, not in our memory.
 */
export const DEFAULT_STREAM_READABLE_HIGH_WATER_MARK = 64 * 1024;

/**
 * `Retry-After` (seconds) of the 503 answered to handshakes that arrive while `close()` waits
 * for the clients. Short: during a rolling deploy the replacement is usually up within seconds,
 * and a load balancer that retries elsewhere does not wait at all.
 */
export const RETRY_AFTER_CLOSING_S = 1;

/**
 * Pub/sub: longest topic name accepted by `subscribe`/`publish`, in UTF-8 bytes. Default 256.
 * Blunts clients that pick their own topic names (a chat room from a URL) and fill memory or
 * the bus with huge keys: every topic is a map key here and a channel name on Redis or NATS.
 */
export const DEFAULT_MAX_TOPIC_BYTES = 256;

/**
 * Pub/sub: most topics one connection may be subscribed to at once. Default 1024; a further
 * `subscribe` throws `TOO_MANY_SUBSCRIPTIONS`. Blunts a client that makes the server subscribe it
 * to ever more topics (each costs a set entry here and a bus subscription per node).
 */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 1024;

/**
 * Pub/sub bus: most messages, and most payload bytes, collected for one bus channel before the
 * batch is sent without waiting for the end of the event-loop turn. Defaults 1024 messages /
 * 256 KiB. Bounds the memory one turn of publishing can hold and the size of one bus message.
 */
export const DEFAULT_BUS_BATCH_MESSAGES = 1024;
export const DEFAULT_BUS_BATCH_BYTES = 256 * 1024;

/**
 * Pub/sub bus liveness probe: every `interval` ms a node publishes a probe to its own private
 * channel and expects it back within `timeout` ms; otherwise the subscription is declared
 * stalled and the adapter is asked to reconnect. Defaults 5 s / 3 s. Finds a subscription that
 * stays connected but receives nothing (a half-open TCP link, a silently dropped subscription).
 */
export const DEFAULT_BUS_PROBE_INTERVAL_MS = 5000;
export const DEFAULT_BUS_PROBE_TIMEOUT_MS = 3000;

/**
 * Pub/sub bus: a remote node not heard from for this long (ms) is forgotten (its sequence
 * numbers are dropped). Default 10 minutes. Bounds the per-node gap-detection state when nodes
 * come and go (every restart is a new node id).
 */
export const DEFAULT_BUS_NODE_EXPIRY_MS = 10 * 60_000;

/**
 * ReconnectingWebSocket backoff: failed attempts in a row before giving up (10), the first delay
 * (1 s), the longest delay (30 s), the growth factor (2) and the random spread (±20 %).
 * The spread keeps many clients dropped at once (a server restart) from coming back in step.
 */
export const DEFAULT_RECONNECT_ATTEMPTS = 10;
export const DEFAULT_RECONNECT_MIN_DELAY_MS = 1000;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 30_000;
export const DEFAULT_RECONNECT_FACTOR = 2;
export const DEFAULT_RECONNECT_JITTER = 0.2;

/**
 * ReconnectingWebSocket: messages, and bytes, kept for sending while disconnected. Defaults
 * 1024 / 1 MiB; a send beyond either is rejected at once (QUEUE_FULL).
 * Blunts an application that keeps sending into a connection that is down: without a bound the
 * queue grows for as long as the server stays away.
 */
export const DEFAULT_RECONNECT_QUEUE_MESSAGES = 1024;
export const DEFAULT_RECONNECT_QUEUE_BYTES = 1024 * 1024;

/**
 * WebSockets over HTTP/2 (RFC 8441). Most WebSockets open at once on one HTTP/2 session (one
 * TCP/TLS connection); the next extended CONNECT on it is refused with 503. Default 100.
 * Blunts one connection multiplying its footprint: each WebSocket on it may hold up to
 * `maxBufferedAmount` of output and a flow-control window of input.
 */
export const DEFAULT_H2_MAX_WEBSOCKETS_PER_SESSION = 100;

/**
 * SETTINGS_MAX_CONCURRENT_STREAMS of an HTTP/2 server created by ironsock (streams of all kinds
 * the peer may have open at once: the page's requests and its WebSockets). Default 256
 * (Node's own default is unlimited). Blunts stream floods (CVE-2019-9514 class, CVE-2023-44487).
 */
export const DEFAULT_H2_MAX_CONCURRENT_STREAMS = 256;

/**
 * `maxSessionMemory` (MB) of an HTTP/2 server created by ironsock: once one session's HTTP/2
 * state and queued output pass it, Node refuses new streams on that session
 * (ENHANCE_YOUR_CALM). Default 10 (Node's default). Bounds what one connection can pin.
 */
export const DEFAULT_H2_MAX_SESSION_MEMORY_MB = 10;

/**
 * Per-stream flow-control window (SETTINGS_INITIAL_WINDOW_SIZE) of an HTTP/2 server created by
 * ironsock, in bytes. Default 65,535 (RFC 9113's initial value). A WebSocket whose reading is
 * paused stops granting window, so a peer can park at most this much unread input per stream
 * and its other streams keep flowing (Node grants the connection window as data arrives).
 */
export const DEFAULT_H2_INITIAL_WINDOW_SIZE = 65_535;

/**
 * Connection-level receive window of HTTP/2 sessions ironsock creates (servers and the client's
 * pooled sessions), in bytes. Default 1 MiB. RFC 9113's 65,535 would let all the WebSockets of
 * a connection together receive only 64 KiB per round trip. Input a paused WebSocket can park
 * stays bounded by its stream window (`DEFAULT_H2_INITIAL_WINDOW_SIZE` on servers).
 */
export const DEFAULT_H2_CONNECTION_WINDOW_SIZE = 1024 * 1024;
