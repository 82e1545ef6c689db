/** What the chat room needs from a connected client (a `WebSocket`). */
export interface ChatMember {
  send(data: string): void;
  readonly readyState: number;
}

/**
 * How a room reaches its members on every server: `publish(text, except)` sends `text` to every
 * member of the room (on this server and, through the pub/sub bus, on the others) except
 * `except`. Without it, the room relays to its local members only.
 */
export interface ChatBus {
  publish(text: string, except: ChatMember | null): void;
}

/** Longest chat message relayed, in UTF-16 code units; longer text is cut. */
export const MAX_CHAT_TEXT = 4000;
const OPEN = 1;
const NAME = /^[\p{L}\p{N}_.-]{1,24}$/u;
/** Room names: like member names, up to 32 characters; anything else is the `lobby`. */
const ROOM = /^[\p{L}\p{N}_.-]{1,32}$/u;

/** The room asked for with `?room=`, or `'lobby'` when absent or invalid. */
export function chatRoomName(requested: string | null | undefined): string {
  return requested !== undefined && requested !== null && ROOM.test(requested)
    ? requested
    : 'lobby';
}

/** Options of a {@link ChatRoom}. */
export interface ChatRoomOptions {
  /** The room's name (shown to members). Default `'lobby'`. */
  name?: string;
  /** This server's label, sent with every event so pages show where each member is. */
  server?: string;
  /** Carries the room to other servers (see {@link ChatBus}). */
  bus?: ChatBus;
  /** Prefix of generated names (`guest-N`); servers sharing rooms should use distinct ones. */
  guestPrefix?: string;
}

/**
 * One `/chat` room of `ironsock serve` (`/chat?room=NAME&name=NAME`). Every message is JSON:
 * to a newcomer `{type:'welcome', name, room, server, count}`; to the others
 * `{type:'join', name, room, server, count}`; on leave `{type:'leave', name, room, server,
 * count}`; each text message as `{type:'message', from, server, text, time}` to everyone
 * (`self: true` on the sender's copy); a binary message gets `{type:'error', message}` back.
 * `server` is the label of the server the member is connected to; `count` is the number of
 * members of the room on that server. Names are `guest-N` unless the client asked for a valid
 * one (letters, digits, `_.-`, 1-24 chars) with `?name=`.
 */
export class ChatRoom {
  private readonly members = new Map<ChatMember, string>();
  private nextGuest = 1;
  private readonly room: string;
  private readonly server: string | undefined;
  private readonly bus: ChatBus | undefined;
  private readonly guestPrefix: string;

  constructor(options: ChatRoomOptions = {}) {
    this.room = options.name ?? 'lobby';
    this.server = options.server;
    this.bus = options.bus;
    this.guestPrefix = options.guestPrefix ?? 'guest-';
  }

  /** Number of members on this server. */
  get size(): number {
    return this.members.size;
  }

  /** Adds a member; `requestedName` is used when valid. Returns the name given. */
  join(member: ChatMember, requestedName?: string | null): string {
    const name =
      requestedName !== undefined && requestedName !== null && NAME.test(requestedName)
        ? requestedName
        : `${this.guestPrefix}${this.nextGuest++}`;
    this.members.set(member, name);
    const count = this.members.size;
    safeSend(member, JSON.stringify({ type: 'welcome', name, ...this.where(), count }));
    this.broadcast(JSON.stringify({ type: 'join', name, ...this.where(), count }), member);
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
      ...(this.server === undefined ? {} : { server: this.server }),
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
    this.broadcast(
      JSON.stringify({ type: 'leave', name, ...this.where(), count: this.members.size }),
      null,
    );
  }

  private where(): { room?: string; server?: string } {
    return this.server === undefined ? {} : { room: this.room, server: this.server };
  }

  private broadcast(text: string, except: ChatMember | null): void {
    if (this.bus !== undefined) {
      try {
        this.bus.publish(text, except);
      } catch {
        // a failing publish must not take the room down; members' own events report it
      }
      return;
    }
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
