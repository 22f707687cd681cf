#!/usr/bin/python3
"""tests/dkim/dns-proxy.py PORT UPSTREAM-PORT [LOGFILE]: a DNS forwarder
on 127.0.0.1:PORT (UDP and TCP) that passes every query to the test
server on 127.0.0.1:UPSTREAM-PORT and relays its answer, except queries
for a name whose first label is "timeout" (e.g. the DKIM key
timeout._domainkey.dkim.test): those are never answered, so that a DKIM
key lookup times out while the rest of the zone works (the fault
responder, tests/dns-fault.py, only knows NAME.fault.test names).
Standard library only (and tests/dnslib.py). One log line per query:
proto, name, what was done.
"""
import os
import socket
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from dnslib import log, open_log, qname, serve  # noqa: E402

UPSTREAM = None


def ask(pkt, tcp):
    if tcp:
        s = socket.create_connection(UPSTREAM, timeout=5)
        try:
            s.sendall(struct.pack('>H', len(pkt)) + pkt)
            n = struct.unpack('>H', s.recv(2, socket.MSG_WAITALL))[0]
            return s.recv(n, socket.MSG_WAITALL)
        finally:
            s.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.sendto(pkt, UPSTREAM)
        return s.recv(65535)
    finally:
        s.close()


def respond(pkt, tcp):
    """[(0, the upstream's reply)], or [] for a query not answered."""
    name = qname(pkt)
    proto = 'tcp' if tcp else 'udp'
    if name.split('.')[0] == 'timeout':
        log(proto, name, 'dropped')
        return []
    try:
        reply = ask(pkt, tcp)
    except OSError as e:
        log(proto, name, 'upstream error', repr(e))
        return []
    log(proto, name, 'forwarded')
    return [(0, reply)]


def main():
    global UPSTREAM
    port, up = int(sys.argv[1]), int(sys.argv[2])
    UPSTREAM = ('127.0.0.1', up)
    open_log(sys.argv[3] if len(sys.argv) > 3 else None)
    # a forwarded query may take seconds: one thread for each over UDP
    serve(port, respond, 'listening on 127.0.0.1:%d, upstream 127.0.0.1:%d' % (port, up),
          threaded_udp=True)


if __name__ == '__main__':
    main()
