/**
 * The control-frame rate limit of a connection: at most `maxControl` pings and pongs from the
 * peer per window (`CONTROL_FRAME_WINDOW_MS`) before the connection fails with CONTROL_FLOOD
 * (1008), so a peer cannot make us answer pings as fast as it sends them (checklists C3 and C4).
 */
import type { Connection } from '../protocol/connection.js';
import { CONTROL_FRAME_WINDOW_MS } from './limits.js';

/** The counters of one connection's window (fields of its driver: no object of their own). */
export interface ControlWindow {
  readonly conn: Connection;
  /** Control frames accepted per window. */
  readonly maxControl: number;
  controlCount: number;
  controlWindowStart: number;
}

/**
 * Counts one control frame from the peer. False once the window holds more than `maxControl`:
 * the connection is then failed (CONTROL_FLOOD) and the frame must be ignored.
 */
export function admitControlFrame(window: ControlWindow): boolean {
  // Milliseconds modulo 2^30 (a difference taken modulo 2^30 too is exact below 12 days): the
  // field then always holds a small integer. Storing Date.now() (about 1.7e12) once would turn
  // it into a boxed double in every connection created afterwards (about 16 bytes each), and
  // keepalive pongs reach this on every idle connection.
  const now = Date.now() & 0x3fffffff;
  if (((now - window.controlWindowStart) & 0x3fffffff) >= CONTROL_FRAME_WINDOW_MS) {
    window.controlWindowStart = now;
    window.controlCount = 0;
  }
  if (++window.controlCount <= window.maxControl) return true;
  if (window.conn.state !== 'closed') window.conn.fail('CONTROL_FLOOD');
  return false;
}
