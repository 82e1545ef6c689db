import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatRoom, MAX_CHAT_TEXT, type ChatMember } from '../../src/cli/chat-room.js';

function member(): ChatMember & { inbox: Array<Record<string, unknown>>; readyState: number } {
  const inbox: Array<Record<string, unknown>> = [];
  return {
    inbox,
    readyState: 1,
    send(data: string) {
      inbox.push(JSON.parse(data));
    },
  };
}

describe('ChatRoom', () => {
  test('names: a valid ?name= is kept, anything else becomes guest-N', () => {
    const room = new ChatRoom();
    assert.equal(room.join(member(), 'alice'), 'alice');
    assert.equal(room.join(member(), '<script>'), 'guest-1');
    assert.equal(room.join(member(), 'x'.repeat(25)), 'guest-2');
    assert.equal(room.join(member(), null), 'guest-3');
    assert.equal(room.size, 4);
  });

  test('messages reach everyone; the sender copy is marked self; long text is cut', () => {
    const room = new ChatRoom();
    const a = member();
    const b = member();
    room.join(a, 'a');
    room.join(b, 'b');
    room.message(a, 'y'.repeat(MAX_CHAT_TEXT + 10), false);
    const toB = b.inbox.at(-1);
    const toA = a.inbox.at(-1);
    assert.equal(toB?.type, 'message');
    assert.equal(toB?.from, 'a');
    assert.equal((toB?.text as string).length, MAX_CHAT_TEXT);
    assert.equal(toB?.self, undefined);
    assert.equal(toA?.self, true);
  });

  test('binary messages are refused with an error event to the sender only', () => {
    const room = new ChatRoom();
    const a = member();
    const b = member();
    room.join(a, 'a');
    room.join(b, 'b');
    const before = b.inbox.length;
    room.message(a, '', true);
    assert.equal(a.inbox.at(-1)?.type, 'error');
    assert.equal(b.inbox.length, before);
  });

  test('leave notifies the others; closed or failing members do not stop a broadcast', () => {
    const room = new ChatRoom();
    const a = member();
    const closed = member();
    const failing = member();
    failing.send = () => {
      throw new Error('send buffer full');
    };
    const c = member();
    room.join(a, 'a');
    room.join(closed, 'closed');
    room.join(failing, 'failing');
    room.join(c, 'c');
    closed.readyState = 3;
    room.leave(a);
    assert.deepEqual(c.inbox.at(-1), { type: 'leave', name: 'a', count: 3 });
    room.leave(a);
    assert.equal(room.size, 3);
  });
});
