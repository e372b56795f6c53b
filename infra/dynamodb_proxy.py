"""A TCP proxy on loopback between the functions and DynamoDB Local, which the
fault tests cut and restore to make DynamoDB unreachable while requests run.

    python infra/dynamodb_proxy.py LISTEN_PORT UPSTREAM_PORT PID_FILE

SIGUSR1 cuts: every open connection is reset and new ones are refused (the
listener closes), as when DynamoDB cannot be reached. SIGUSR2 restores.
"""

import asyncio
import os
import signal
import socket
import struct
import sys


class Proxy:
    def __init__(self, listen_port, upstream_port):
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.server = None
        self.open = set()

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.listen_port, reuse_address=True)

    async def handle(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        pair = (writer, up_writer)
        self.open.add(pair)
        try:
            await asyncio.gather(self.pipe(reader, up_writer), self.pipe(up_reader, writer))
        finally:
            self.open.discard(pair)
            for w in pair:
                w.close()

    @staticmethod
    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def cut(self):
        if self.server is not None:
            self.server.close()
            self.server = None
        for pair in list(self.open):
            for w in pair:
                sock = w.get_extra_info("socket")
                if sock is not None:
                    # Reset rather than close politely: the caller sees the connection die.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                w.close()
        self.open.clear()

    async def restore(self):
        if self.server is None:
            await self.start()


async def main():
    listen_port, upstream_port, pid_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    proxy = Proxy(listen_port, upstream_port)
    await proxy.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, proxy.cut)
    loop.add_signal_handler(signal.SIGUSR2, lambda: asyncio.ensure_future(proxy.restore()))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
