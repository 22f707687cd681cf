#!/usr/bin/python3
"""delay-proxy LISTEN_PORT UPSTREAM_PORT DELAY_MS: a UDP relay on 127.0.0.1
that holds each datagram DELAY_MS/2 on the way to the DNS server and
DELAY_MS/2 on the way back, so every query costs DELAY_MS more round
trip. Stands in for "tc qdisc ... netem delay" where the kernel has no
netem (the benchmark says which one it used)."""
import asyncio
import sys


class Upstream(asyncio.DatagramProtocol):
    def __init__(self, front, client, half):
        self.front, self.client, self.half = front, client, half

    def datagram_received(self, data, addr):
        loop = asyncio.get_running_loop()
        loop.call_later(self.half, self.front.sendto, data, self.client)


class Front(asyncio.DatagramProtocol):
    def __init__(self, upstream_port, half):
        self.upstream_port, self.half = upstream_port, half
        self.ups = {}

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, client):
        asyncio.get_running_loop().call_later(self.half, self.forward, data, client)

    def forward(self, data, client):
        up = self.ups.get(client)
        if up is None:
            asyncio.ensure_future(self.open(data, client))
        else:
            up.sendto(data)

    async def open(self, data, client):
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: Upstream(self.transport, client, self.half),
            remote_addr=('127.0.0.1', self.upstream_port))
        self.ups[client] = transport
        transport.sendto(data)


async def main():
    listen, upstream, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: Front(upstream, delay / 2000.0),
                                        local_addr=('127.0.0.1', listen))
    await asyncio.Event().wait()


asyncio.run(main())
