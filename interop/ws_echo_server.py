"""A Python `websockets` echo server for orderwire's interop tests.

Options: --deflate (offer permessage-deflate), --tls CERT KEY (serve wss://
with this PEM chain and key). Prints the port it listens on, then serves
until stdin closes. Text messages
with a command prefix make the server act instead of echoing:
  frag:<n>:<text>   echo <text> back in fragments of <n> characters
  ping-me           send a ping, wait for the pong, answer "pong-received"
  close:<code>      start the close handshake with <code> and reason "bye"
"""
import asyncio
import ssl
import sys

import websockets


async def handler(ws):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("frag:"):
                _, size, text = message.split(":", 2)
                size = int(size)
                await ws.send([text[i:i + size] for i in range(0, len(text), size)] or [""])
            elif message == "ping-me":
                waiter = await ws.ping(b"from-python")
                await waiter
                await ws.send("pong-received")
            elif isinstance(message, str) and message.startswith("close:"):
                await ws.close(int(message[6:]), "bye")
            else:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    compression = "deflate" if "--deflate" in sys.argv else None
    tls = None
    if "--tls" in sys.argv:
        at = sys.argv.index("--tls")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[at + 1], sys.argv[at + 2])
    async with websockets.serve(handler, "127.0.0.1", 0, compression=compression,
                                max_size=None, ping_interval=None, ssl=tls) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
