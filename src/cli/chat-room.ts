/** What the chat room needs from a connected client (a `WebSocket`). */
export interface ChatMember {
  send(data: string): void;
  readonly readyState: number;
}

/** Longest chat message relayed, in UTF-16 code units; longer text is cut. */
export const MAX_CHAT_TEXT = 4000;
const OPEN = 1;
const NAME = /^[\p{L}\p{N}_.-]{1,24}$/u;

/**
 * The `/chat` room of `ironsock serve`. Every message is JSON:
 * to a newcomer `{type:'welcome', name, count}`; to the others `{type:'join', name, count}`;
 * on leave `{type:'leave', name, count}`; each text message as
 * `{type:'message', from, text, time}` to everyone (`self: true` on the sender's copy);
 * a binary message gets `{type:'error', message}` back. Names are `guest-N` unless the client
 * asked for a valid one (letters, digits, `_.-`, 1-24 chars) with `?name=` in the URL.
 */
export class ChatRoom {
  private readonly members = new Map<ChatMember, string>();
  private nextGuest = 1;

  /** Number of members. */
  get size(): number {
    return this.members.size;
  }

  /** Adds a member; `requestedName` is used when valid. Returns the name given. */
  join(member: ChatMember, requestedName?: string | null): string {
    const name =
      requestedName !== undefined && requestedName !== null && NAME.test(requestedName)
        ? requestedName
        : `guest-${this.nextGuest++}`;
    this.members.set(member, name);
    const count = this.members.size;
    safeSend(member, JSON.stringify({ type: 'welcome', name, count }));
    this.broadcast(JSON.stringify({ type: 'join', name, count }), member);
    return name;
  }

  /** Relays a message from `member` to every member. */
  message(member: ChatMember, data: string, isBinary: boolean): void {
    const from = this.members.get(member);
    if (from === undefined) return;
    if (isBinary) {
      safeSend(
        member,
        JSON.stringify({ type: 'error', message: 'chat accepts text messages only' }),
      );
      return;
    }
    const event = {
      type: 'message',
      from,
      text: data.length > MAX_CHAT_TEXT ? data.slice(0, MAX_CHAT_TEXT) : data,
      time: new Date().toISOString(),
    };
    const text = JSON.stringify(event);
    this.broadcast(text, member);
    safeSend(member, JSON.stringify({ ...event, self: true }));
  }

  /** Removes a member and tells the others. */
  leave(member: ChatMember): void {
    const name = this.members.get(member);
    if (name === undefined) return;
    this.members.delete(member);
    this.broadcast(JSON.stringify({ type: 'leave', name, count: this.members.size }));
  }

  private broadcast(text: string, except?: ChatMember): void {
    for (const member of this.members.keys()) {
      if (member !== except) safeSend(member, text);
    }
  }
}

/** Sends if open; a failing send (e.g. a full send buffer) must not stop the broadcast. */
function safeSend(member: ChatMember, text: string): void {
  if (member.readyState !== OPEN) return;
  try {
    member.send(text);
  } catch {
    // the member's own close/error events report it
  }
}
