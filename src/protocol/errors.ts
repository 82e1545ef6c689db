import { CloseCode } from './codes.js';

/**
 * Every way a peer can violate the protocol, with the close code it implies and a message
 * that says what happened (RFC 6455 §7.4.1). One table, so the mapping lives in one place.
 */
export const ProtocolViolation = {
  UNMASKED_CLIENT_FRAME: [CloseCode.ProtocolError, 'client frame is not masked (§5.1)'],
  MASKED_SERVER_FRAME: [CloseCode.ProtocolError, 'server frame is masked (§5.1)'],
  RESERVED_BITS: [CloseCode.ProtocolError, 'RSV bit set without a negotiated extension (§5.2)'],
  RESERVED_OPCODE: [CloseCode.ProtocolError, 'reserved opcode (§5.2)'],
  LENGTH_MSB_SET: [
    CloseCode.ProtocolError,
    '64-bit payload length has its most significant bit set (§5.2)',
  ],
  CONTROL_TOO_LONG: [CloseCode.ProtocolError, 'control frame payload longer than 125 bytes (§5.5)'],
  CONTROL_FRAGMENTED: [CloseCode.ProtocolError, 'fragmented control frame (§5.5)'],
  UNEXPECTED_CONTINUATION: [
    CloseCode.ProtocolError,
    'continuation frame with no message in progress (§5.4)',
  ],
  EXPECTED_CONTINUATION: [
    CloseCode.ProtocolError,
    'new data frame while a fragmented message is in progress (§5.4)',
  ],
  INVALID_CLOSE_PAYLOAD: [CloseCode.ProtocolError, 'close frame payload of 1 byte (§5.5.1)'],
  INVALID_CLOSE_CODE: [CloseCode.ProtocolError, 'close code not allowed on the wire (§7.4)'],
  INVALID_CLOSE_REASON: [CloseCode.InvalidData, 'close reason is not valid UTF-8 (§5.5.1)'],
  INVALID_UTF8: [CloseCode.InvalidData, 'text message is not valid UTF-8 (§8.1)'],
  FRAME_TOO_BIG: [CloseCode.MessageTooBig, 'frame larger than the configured limit'],
  MESSAGE_TOO_BIG: [CloseCode.MessageTooBig, 'message larger than the configured limit'],
  MESSAGE_TOO_COSTLY: [CloseCode.MessageTooBig, 'message made of too many parts for its budget'],
  EXTENSION_ERROR: [CloseCode.ProtocolError, 'extension could not decode the message'],
  /** Our own encoder failed: not the peer's fault, so 1011 (§7.4.1 "unexpected condition"). */
  ENCODER_ERROR: [CloseCode.InternalError, 'extension could not encode an outgoing message'],
  EXTENSION_TOO_BIG: [
    CloseCode.MessageTooBig,
    'decompressed message larger than the configured limit',
  ],
  CONTROL_FLOOD: [CloseCode.PolicyViolation, 'too many control frames'],
  SEND_BUFFER_FULL: [CloseCode.PolicyViolation, 'outgoing buffer limit exceeded'],
} as const satisfies Record<string, readonly [number, string]>;
export type ProtocolViolationCode = keyof typeof ProtocolViolation;

/**
 * A violation of the protocol by the peer. Receiving never throws: the engine records one of
 * these as the cause when it fails the connection (§7.1.7), and hands it to the adapter.
 */
export class ProtocolError extends Error {
  /** Stable machine-readable code, e.g. `UNMASKED_CLIENT_FRAME`. */
  readonly code: ProtocolViolationCode;
  /** The close code sent to the peer for this violation. */
  readonly closeCode: number;

  constructor(code: ProtocolViolationCode, detail?: string) {
    const [closeCode, message] = ProtocolViolation[code];
    super(detail === undefined ? message : `${message}: ${detail}`);
    this.name = 'ProtocolError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

/**
 * Misuse of the API by local code (sending after close, an invalid close code, ...).
 * Thrown synchronously at the call (STYLE.md §3).
 */
export class UsageError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'UsageError';
    this.code = code;
  }
}
