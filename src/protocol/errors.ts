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

/** The number at the end of a detail such as `opcode 5` or `length 126`, as text, or ''. */
function trailingNumber(detail: string | undefined): string {
  const match = detail === undefined ? null : /(\d+)$/.exec(detail);
  return match === null ? '' : ` ${match[1]}`;
}

/**
 * The message the `ws` package gives when it refuses a frame for the same reason: code written
 * for ws matches on these texts, so `ProtocolError.message` uses them. Violations ws does not
 * check (message cost, control floods, the send buffer) keep ironsock's own text.
 */
function wsMessage(code: ProtocolViolationCode, detail: string | undefined): string | undefined {
  const frame = 'Invalid WebSocket frame: ';
  switch (code) {
    case 'UNMASKED_CLIENT_FRAME':
      return frame + 'MASK must be set';
    case 'MASKED_SERVER_FRAME':
      return frame + 'MASK must be clear';
    case 'RESERVED_BITS': {
      // ws checks RSV2/RSV3 first (rsv bits here: 4 = RSV1, 2 = RSV2, 1 = RSV3).
      const rsv = Number(trailingNumber(detail));
      return frame + ((rsv & 3) !== 0 ? 'RSV2 and RSV3 must be clear' : 'RSV1 must be clear');
    }
    case 'RESERVED_OPCODE':
    case 'EXPECTED_CONTINUATION':
      return frame + 'invalid opcode' + trailingNumber(detail);
    case 'UNEXPECTED_CONTINUATION':
      return frame + 'invalid opcode 0';
    case 'CONTROL_FRAGMENTED':
      return frame + 'FIN must be set';
    case 'CONTROL_TOO_LONG':
      return frame + 'invalid payload length' + trailingNumber(detail);
    case 'INVALID_CLOSE_PAYLOAD':
      return frame + 'invalid payload length 1';
    case 'INVALID_CLOSE_CODE':
      return frame + 'invalid status code' + trailingNumber(detail);
    case 'INVALID_CLOSE_REASON':
    case 'INVALID_UTF8':
      return frame + 'invalid UTF-8 sequence';
    case 'LENGTH_MSB_SET':
      return 'Unsupported WebSocket frame: payload length > 2^53 - 1';
    case 'FRAME_TOO_BIG':
    case 'MESSAGE_TOO_BIG':
    case 'EXTENSION_TOO_BIG':
      return 'Max payload size exceeded';
    default:
      return undefined;
  }
}

/**
 * A violation of the protocol by the peer. Receiving never throws: the engine records one of
 * these as the cause when it fails the connection (§7.1.7), and hands it to the adapter.
 *
 * `message` is ws's text where ws refuses for the same reason (e.g. `Invalid WebSocket frame:
 * invalid opcode 5`), so code written for ws keeps matching; `explanation` is ironsock's own,
 * longer text (what happened, with the RFC section); `code` is the stable identifier to match
 * on. A RangeError, as ws's receiver errors are.
 */
export class ProtocolError extends RangeError {
  /** Stable machine-readable code, e.g. `UNMASKED_CLIENT_FRAME`. */
  readonly code: ProtocolViolationCode;
  /** The close code sent to the peer for this violation. */
  readonly closeCode: number;
  /** ironsock's explanation, e.g. `reserved opcode (§5.2): opcode 5`. */
  readonly explanation: string;

  constructor(code: ProtocolViolationCode, detail?: string) {
    const [closeCode, text] = ProtocolViolation[code];
    const explanation = detail === undefined ? text : `${text}: ${detail}`;
    super(wsMessage(code, detail) ?? explanation);
    this.name = 'ProtocolError';
    this.code = code;
    this.closeCode = closeCode;
    this.explanation = explanation;
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
