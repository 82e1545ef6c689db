/**
 * The demo page served by `ironsock serve` at `GET /`: one self-contained HTML document
 * (inline CSS and JS, no framework, no build step, no external requests). A visitor picks
 * Echo or Chat, connects to `/echo` or `/chat?room=NAME` on the same origin, sends messages and
 * sees the replies; chat messages reach every tab in the same room, on this server and on every
 * server sharing its bus (each member is shown with the server it is connected to). Peer text is only ever inserted with
 * `textContent`, never as HTML.
 *
 * The script and style are returned beside the page so the server can pin them by hash in its
 * Content-Security-Policy. Built on first use (the first request for the page): a server that
 * nobody visits keeps none of these strings in its heap.
 */
export function demoPage(): { page: string; style: string; script: string } {
  const style = `
:root {
  color-scheme: light dark;
  --bg: #f4f5f8; --card: #fff; --text: #1d2330; --muted: #6b7385; --line: #e2e5ec;
  --accent: #3b5bdb; --accent-text: #fff; --in: #eef1f6; --ok: #2f9e44; --bad: #e03131;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14161c; --card: #1c1f27; --text: #e6e8ee; --muted: #8b93a6; --line: #2c313d;
    --accent: #5c7cfa; --in: #262a35; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 760px; margin: 32px auto; padding: 0 16px; }
header { display: flex; align-items: baseline; justify-content: space-between; margin-bottom: 16px; }
h1 { font-size: 22px; margin: 0; letter-spacing: -0.01em; }
h1 span { color: var(--accent); }
.sub { color: var(--muted); font-size: 13px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  box-shadow: 0 1px 2px rgba(0,0,0,.04); overflow: hidden; }
.bar { display: flex; gap: 8px; align-items: center; padding: 12px; border-bottom: 1px solid var(--line);
  flex-wrap: wrap; }
.modes { display: inline-flex; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.modes label { padding: 6px 12px; cursor: pointer; font-size: 14px; user-select: none; }
.modes input { display: none; }
.modes input:checked + span { color: var(--accent); font-weight: 600; }
.modes label + label { border-left: 1px solid var(--line); }
.modes label:has(input:checked) { background: var(--in); }
code.url { flex: 1; min-width: 160px; font: 13px ui-monospace, SFMono-Regular, Menlo, monospace;
  color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
button { font: inherit; font-size: 14px; border: 0; border-radius: 8px; padding: 7px 14px;
  background: var(--accent); color: var(--accent-text); cursor: pointer; }
button.secondary { background: transparent; color: var(--text); border: 1px solid var(--line); }
button:disabled { opacity: .5; cursor: default; }
.status { display: inline-flex; align-items: center; gap: 6px; font-size: 13px; color: var(--muted); }
.dot { width: 9px; height: 9px; border-radius: 50%; background: var(--muted); }
.status[data-state="open"] .dot { background: var(--ok); }
.status[data-state="error"] .dot { background: var(--bad); }
#log { height: 380px; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 78%; padding: 7px 11px; border-radius: 12px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.msg.out { align-self: flex-end; background: var(--accent); color: var(--accent-text);
  border-bottom-right-radius: 4px; }
.msg.in { align-self: flex-start; background: var(--in); border-bottom-left-radius: 4px; }
.msg .from { display: block; font-size: 12px; font-weight: 600; opacity: .75; }
.msg.sys { align-self: center; background: none; color: var(--muted); font-size: 12px; padding: 0; }
.empty { margin: auto; color: var(--muted); font-size: 14px; text-align: center; }
form { display: flex; gap: 8px; padding: 12px; border-top: 1px solid var(--line); }
form input { flex: 1; font: inherit; padding: 8px 12px; border: 1px solid var(--line); border-radius: 8px;
  background: var(--bg); color: var(--text); }
form input:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
footer { margin-top: 12px; color: var(--muted); font-size: 12px; text-align: center; }
`;

  /** The page's script: connection handling and rendering (peer text via textContent only). */
  const script = `
'use strict';
const $ = (id) => document.getElementById(id);
const log = $('log'), statusEl = $('status'), statusText = $('status-text'), urlEl = $('url');
const connectBtn = $('connect'), sendBtn = $('send'), input = $('message');
const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
let ws = null;

function mode() { return document.querySelector('input[name=mode]:checked').value; }
function room() { return ($('room').value || 'lobby').trim(); }
function endpoint() {
  const base = scheme + '//' + location.host + '/' + mode();
  return mode() === 'chat' ? base + '?room=' + encodeURIComponent(room()) : base;
}
function at(event) { return event.server ? ' @ ' + event.server : ''; }
function setStatus(state, text) { statusEl.dataset.state = state; statusText.textContent = text; }
function add(kind, text, from) {
  const empty = log.querySelector('.empty');
  if (empty) empty.remove();
  const el = document.createElement('div');
  el.className = 'msg ' + kind;
  if (from) { const f = document.createElement('span'); f.className = 'from'; f.textContent = from; el.append(f); }
  el.append(document.createTextNode(text));
  log.append(el);
  log.scrollTop = log.scrollHeight;
}
function refresh() {
  const open = ws !== null && ws.readyState === WebSocket.OPEN;
  connectBtn.textContent = ws === null ? 'Connect' : 'Disconnect';
  connectBtn.className = ws === null ? '' : 'secondary';
  sendBtn.disabled = !open;
  input.disabled = !open;
  urlEl.textContent = endpoint();
}
function onChat(text) {
  let event;
  try { event = JSON.parse(text); } catch { add('in', text); return; }
  const where = event.room ? ' in #' + event.room : '';
  if (event.type === 'welcome') add('sys', 'You are ' + event.name + where + at(event) + ' · ' + event.count + ' here');
  else if (event.type === 'join') add('sys', event.name + ' joined' + at(event) + ' · ' + event.count + ' on that server');
  else if (event.type === 'leave') add('sys', event.name + ' left' + at(event) + ' · ' + event.count + ' on that server');
  else if (event.type === 'message' && !event.self) add('in', String(event.text), String(event.from) + at(event));
}
function connect() {
  const current = new WebSocket(endpoint());
  const chat = mode() === 'chat';
  current.binaryType = 'arraybuffer';
  ws = current;
  setStatus('connecting', 'connecting…');
  refresh();
  current.onopen = () => { setStatus('open', 'connected'); add('sys', 'connected to ' + current.url); refresh(); input.focus(); };
  current.onmessage = (e) => {
    if (typeof e.data !== 'string') { add('in', '[' + e.data.byteLength + ' bytes binary]'); return; }
    if (chat) onChat(e.data); else add('in', e.data);
  };
  current.onerror = () => setStatus('error', 'connection error');
  current.onclose = (e) => {
    if (ws !== current) return;
    ws = null;
    add('sys', 'closed (' + e.code + (e.reason ? ' ' + e.reason : '') + ')');
    if (statusEl.dataset.state !== 'error' || e.code === 1000) setStatus('closed', 'disconnected');
    refresh();
  };
}
connectBtn.addEventListener('click', () => {
  if (ws === null) connect(); else ws.close(1000, 'bye');
});
$('room').addEventListener('input', refresh);
document.querySelectorAll('input[name=mode]').forEach((el) => el.addEventListener('change', () => {
  if (ws !== null) { const old = ws; ws = null; old.close(1000, 'switching'); setStatus('closed', 'disconnected'); }
  refresh();
}));
$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value;
  if (ws === null || ws.readyState !== WebSocket.OPEN || text === '') return;
  ws.send(text);
  add('out', text);
  input.value = '';
});
refresh();
`;

  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ironsock demo</title>
<style>${style}</style>
</head>
<body>
<main>
  <header>
    <h1><span>iron</span>sock</h1>
    <div class="sub">WebSocket echo &amp; chat demo</div>
  </header>
  <div class="card">
    <div class="bar">
      <div class="modes" role="radiogroup" aria-label="Endpoint">
        <label><input type="radio" name="mode" id="mode-echo" value="echo" checked><span>Echo</span></label>
        <label><input type="radio" name="mode" id="mode-chat" value="chat"><span>Chat</span></label>
      </div>
      <input id="room" value="lobby" maxlength="32" aria-label="Chat room" title="Chat room (shared by every server on the same bus)" size="10">
      <code class="url" id="url"></code>
      <span class="status" id="status" data-state="closed"><span class="dot"></span><span id="status-text">disconnected</span></span>
      <button id="connect" type="button">Connect</button>
    </div>
    <div id="log" aria-live="polite"><div class="empty">Connect, then type a message.<br>Chat reaches every tab open on this page.</div></div>
    <form id="composer" autocomplete="off">
      <input id="message" placeholder="Type a message…" maxlength="4000" disabled>
      <button id="send" type="submit" disabled>Send</button>
    </form>
  </div>
  <footer>Served by <code>ironsock serve</code> · RFC 6455</footer>
</main>
<script>${script}</script>
</body>
</html>
`;
  return { page, style, script };
}
