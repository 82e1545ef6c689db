"""Echo server for ironsock interop tests, using the python `websockets` asyncio API.

Usage: echo_server.py [--compression deflate|none] [--max-size BYTES] [--subprotocol P]...
                      [--certfile PEM --keyfile PEM]

Listens on 127.0.0.1 port 0 (TLS, i.e. wss:, when --certfile is given) and prints `READY <port>` once accepting. Echoes every message
(text as text, binary as binary). Text messages starting with `!` are commands:
  !close <code> <reason>     close the connection with that code and reason
  !frag <text>               send <text> back as a fragmented text message (one fragment per word)
  !fragbin <size> <parts>    send a binary message of <size> pattern bytes (i % 251) in <parts> fragments
  !pattern <size>            send a binary message of <size> pattern bytes in one frame
  !ping <payload>            ping with <payload>, wait for the pong, then send text "pong <payload>"
  !drop                      abort the TCP connection without a Close frame
  !badframe                  write a frame with reserved opcode 0x3 (a protocol error)
  !info                      send a JSON text: negotiated extensions and subprotocol
Every connection's end is printed as a JSON line:
{"event": "close", "path": <request path>, "code": ..., "reason": ...}.
"""

import argparse
import asyncio
import json
import signal
import ssl
import sys

import websockets


def pattern(size):
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def handler(ws, *_ignored):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("!"):
                cmd, _, rest = message[1:].partition(" ")
                if cmd == "close":
                    code, _, reason = rest.partition(" ")
                    await ws.close(int(code), reason)
                elif cmd == "frag":
                    words = rest.split(" ")
                    await ws.send([w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)])
                elif cmd == "fragbin":
                    size, parts = (int(x) for x in rest.split(" "))
                    data = pattern(size)
                    step = -(-size // parts)
                    await ws.send([data[i : i + step] for i in range(0, size, step)])
                elif cmd == "pattern":
                    await ws.send(pattern(int(rest)))
                elif cmd == "ping":
                    waiter = await ws.ping(rest.encode())
                    await waiter
                    await ws.send("pong " + rest)
                elif cmd == "drop":
                    ws.transport.abort()
                elif cmd == "badframe":
                    ws.transport.write(b"\x83\x00")
                elif cmd == "info":
                    await ws.send(
                        json.dumps(
                            {
                                "extensions": [e.name for e in ws.extensions],
                                "subprotocol": ws.subprotocol,
                                "response_extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
                            }
                        )
                    )
                else:
                    await ws.send("unknown command " + cmd)
            else:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        emit({"event": "close", "path": ws.path, "code": ws.close_code, "reason": ws.close_reason})


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compression", default="deflate", choices=["deflate", "none"])
    parser.add_argument("--max-size", type=int, default=2**20)
    parser.add_argument("--subprotocol", action="append", default=None)
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args()
    context = None
    if args.certfile:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.certfile, args.keyfile)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(
        handler,
        "127.0.0.1",
        0,
        compression=None if args.compression == "none" else "deflate",
        max_size=args.max_size,
        subprotocols=args.subprotocol,
        ssl=context,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print("READY %d" % port, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
