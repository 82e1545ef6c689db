"""Scripted client for ironsock interop tests, using the python `websockets` asyncio API.

Usage: client.py URL [--compression deflate|none] [--max-size BYTES] [--subprotocol P]...
                 [--cafile PEM] < script.json

For wss: URLs the server certificate is verified against --cafile (default: system CAs).

The script on stdin is a JSON list of steps, run in order:
  {"text": "..."}                 send a text message
  {"fragments": ["a", "b"]}       send one text message as several fragments
  {"pattern": N}                  send N pattern bytes (i % 251) as one binary message
  {"fragpattern": [N, PARTS]}     the same in PARTS fragments
  {"recv": K}                     receive K messages, printing each (see below)
  {"ping": "payload"}             ping and wait for the matching pong; prints {"event": "pong"}
  {"close": [CODE, "reason"]}     close with CODE and reason
  {"wait_close": true}            wait until the server closes the connection
  {"raw_hex": "8380..."}          write raw bytes to the TCP connection (to send invalid frames)
  {"abort": true}                 drop the TCP connection without a Close frame
Prints one JSON object per line: {"event": "open", "extensions": [...], "subprotocol": ...,
"response_extensions": <the Sec-WebSocket-Extensions response header>} first,
{"event": "message", "type": "text"|"binary", "length": n, "sha256": hex, "data": str (short text only)}
per received message, and {"event": "close", "code": ..., "reason": ...} at the end.
Errors are printed as {"event": "error", "type": ..., "message": ...}; the exit code is then 1.
"""

import argparse
import asyncio
import hashlib
import json
import ssl
import sys

import websockets


def pattern(size):
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def describe(message):
    raw = message.encode() if isinstance(message, str) else message
    out = {
        "event": "message",
        "type": "text" if isinstance(message, str) else "binary",
        "length": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    if isinstance(message, str) and len(message) <= 1000:
        out["data"] = message
    return out


async def run(args, steps):
    context = ssl.create_default_context(cafile=args.cafile) if args.url.startswith("wss:") else None
    async with websockets.connect(
        args.url,
        ssl=context,
        compression=None if args.compression == "none" else "deflate",
        max_size=args.max_size,
        subprotocols=args.subprotocol,
        open_timeout=20,
        close_timeout=10,
    ) as ws:
        emit(
            {
                "event": "open",
                "extensions": [e.name for e in ws.extensions],
                "subprotocol": ws.subprotocol,
                "response_extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
            }
        )
        try:
            for step in steps:
                if "text" in step:
                    await ws.send(step["text"])
                elif "fragments" in step:
                    await ws.send(list(step["fragments"]))
                elif "pattern" in step:
                    await ws.send(pattern(step["pattern"]))
                elif "fragpattern" in step:
                    size, parts = step["fragpattern"]
                    data = pattern(size)
                    chunk = -(-size // parts)
                    await ws.send([data[i : i + chunk] for i in range(0, size, chunk)])
                elif "recv" in step:
                    for _ in range(step["recv"]):
                        emit(describe(await ws.recv()))
                elif "ping" in step:
                    waiter = await ws.ping(step["ping"].encode())
                    await asyncio.wait_for(waiter, 20)
                    emit({"event": "pong"})
                elif "close" in step:
                    code, reason = step["close"]
                    await ws.close(code, reason)
                elif "wait_close" in step:
                    await ws.wait_closed()
                elif "raw_hex" in step:
                    ws.transport.write(bytes.fromhex(step["raw_hex"]))
                elif "abort" in step:
                    ws.transport.abort()
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        emit({"event": "close", "code": ws.close_code, "reason": ws.close_reason})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--compression", default="deflate", choices=["deflate", "none"])
    parser.add_argument("--max-size", type=int, default=2**20)
    parser.add_argument("--subprotocol", action="append", default=None)
    parser.add_argument("--cafile")
    args = parser.parse_args()
    steps = json.load(sys.stdin)
    try:
        asyncio.run(asyncio.wait_for(run(args, steps), 60))
    except Exception as error:  # report any failure to the test as data
        emit({"event": "error", "type": type(error).__name__, "message": str(error)})
        sys.exit(1)


if __name__ == "__main__":
    main()
