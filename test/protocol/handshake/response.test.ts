/**
 * Reason phrases of the handshake responses (RFC 9110 §15): the known ones, and a phrase for
 * the class of any other status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reasonPhrase } from '../../../src/protocol/handshake/response.js';

test('known statuses have their RFC 9110 phrase', () => {
  assert.equal(reasonPhrase(101), 'Switching Protocols');
  assert.equal(reasonPhrase(426), 'Upgrade Required');
  assert.equal(reasonPhrase(503), 'Service Unavailable');
});

test('other statuses get the phrase of their class', () => {
  assert.equal(reasonPhrase(599), 'Server Error');
  assert.equal(reasonPhrase(451), 'Client Error');
  assert.equal(reasonPhrase(308), 'Redirection');
  assert.equal(reasonPhrase(299), 'Success');
  assert.equal(reasonPhrase(199), 'Informational');
});
