/**
 * The contract between the engine and a WebSocket extension (RFC 6455 §9).
 *
 * Negotiation is pure and synchronous (tables over parsed header values). The per-message
 * transform is callback based because real codecs (zlib) are asynchronous; the engine keeps
 * message order by holding later input and output until a transform has called back.
 * The codec is injected, so the core never imports zlib.
 */

/** One element of a `Sec-WebSocket-Extensions` header (§9.1): a name and its parameters in order. */
export interface ExtensionOffer {
  /** Extension token, lower-cased, e.g. `permessage-deflate`. */
  readonly name: string;
  /**
   * Parameters in the order they appeared. `true` marks a parameter without a value.
   * A list (not an object) so duplicates stay visible and no prototype key can be injected.
   */
  readonly params: ReadonlyArray<readonly [name: string, value: string | true]>;
}

/** Result of decoding: the decoded bytes of this frame (possibly several parts). */
export type TransformCallback = (error: ExtensionError | null, output: Uint8Array[]) => void;

/** An extension in use on one connection after a successful negotiation. */
export interface Extension {
  /** Registered name, e.g. `permessage-deflate`. */
  readonly name: string;
  /**
   * Decodes the payload of one data frame of a message whose first frame had RSV1 set.
   * `fin` marks the last frame of the message. `maxOutput` is how many more decoded bytes the
   * message may have: the extension must stop and report `too-big` as soon as its output would
   * pass it (never decode a bomb fully). May call back synchronously or later, exactly once.
   */
  decode(payload: Uint8Array, fin: boolean, maxOutput: number, callback: TransformCallback): void;
  /**
   * Encodes one whole outgoing message (or one fragment of it when `fin` is false). Calls back
   * with the bytes to put in the frame(s); the engine sets RSV1 on the first frame.
   */
  encode(data: Uint8Array, fin: boolean, callback: TransformCallback): void;
  /**
   * Whether an outgoing message of `length` bytes is worth compressing (e.g. a size threshold).
   * Optional; when absent every message the caller allows is compressed.
   */
  shouldCompress?(length: number): boolean;
  /** Releases codec resources; called once when the connection is closed. */
  dispose(): void;
}

/** Why an extension failed; `too-big` maps to close 1009, `invalid` to 1007/1002. */
export class ExtensionError extends Error {
  readonly kind: 'too-big' | 'invalid';
  constructor(kind: 'too-big' | 'invalid', message: string) {
    super(message);
    this.name = 'ExtensionError';
    this.kind = kind;
  }
}
