import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ironsock from '../../src/index.js';
import { MAIN_NAMES } from '../compat/support.js';

// STYLE.md §7: the public surface is curated; this pins it. Changing it is a conscious decision.
test('src/index.ts exports exactly the curated names', () => {
  assert.deepEqual(Object.keys(ironsock).sort(), MAIN_NAMES);
});

test('ws-compatible names are the ones ws users import', () => {
  assert.equal(typeof ironsock.WebSocket, 'function');
  assert.equal(typeof ironsock.WebSocketServer, 'function');
  assert.equal(typeof ironsock.createWebSocketStream, 'function');
  assert.equal(ironsock.WebSocket.OPEN, 1);
});
