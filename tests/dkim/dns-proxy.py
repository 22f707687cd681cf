#!/usr/bin/python3
"""tests/dkim/dns-proxy.py PORT UPSTREAM-PORT [LOGFILE]: a DNS forwarder
on 127.0.0.1:PORT (UDP and TCP) that passes every query to the test
server on 127.0.0.1:UPSTREAM-PORT and relays its answer, except queries
for a name whose first label is "timeout" (e.g. the DKIM key
timeout._domainkey.dkim.test): those are never answered, so that a DKIM
key lookup times out while the rest of the zone works (the fault
responder, tests/dns-fault.py, only knows NAME.fault.test names).
Standard library only. One log line per query: proto, name, what was done.
"""
import socket
import socketserver
import struct
import sys
import threading
import time

UPSTREAM = None
LOG = None
LOCK = threading.Lock()


def log(*words):
    with LOCK:
        LOG.write('%.3f %s\n' % (time.time(), ' '.join(str(w) for w in words)))
        LOG.flush()


def qname(pkt):
    pos, labels = 12, []
    while pos < len(pkt) and pkt[pos] and not pkt[pos] & 0xc0:
        n = pkt[pos]
        labels.append(pkt[pos + 1:pos + 1 + n].decode('latin-1').lower())
        pos += 1 + n
    return '.'.join(labels)


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


def handle(pkt, tcp):
    name = qname(pkt)
    proto = 'tcp' if tcp else 'udp'
    if name.split('.')[0] == 'timeout':
        log(proto, name, 'dropped')
        return None
    try:
        reply = ask(pkt, tcp)
    except OSError as e:
        log(proto, name, 'upstream error', repr(e))
        return None
    log(proto, name, 'forwarded')
    return reply


def serve_udp(sock):
    while True:
        try:
            pkt, peer = sock.recvfrom(65535)

            def work(pkt=pkt, peer=peer):
                reply = handle(pkt, False)
                if reply is not None:
                    sock.sendto(reply, peer)
            threading.Thread(target=work, daemon=True).start()
        except Exception as e:  # never die on one query
            log('udp error:', repr(e))


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(30)
        try:
            while True:
                head = self.request.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    return
                pkt = self.request.recv(struct.unpack('>H', head)[0], socket.MSG_WAITALL)
                reply = handle(pkt, True)
                if reply is None:
                    time.sleep(30)
                    return
                self.request.sendall(struct.pack('>H', len(reply)) + reply)
        except Exception as e:
            log('tcp error:', repr(e))


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global UPSTREAM, LOG
    port, up = int(sys.argv[1]), int(sys.argv[2])
    UPSTREAM = ('127.0.0.1', up)
    LOG = open(sys.argv[3], 'a') if len(sys.argv) > 3 else sys.stderr
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(('127.0.0.1', port))
    tcp = TCPServer(('127.0.0.1', port), TCPHandler)
    threading.Thread(target=serve_udp, args=(udp,), daemon=True).start()
    log('listening on 127.0.0.1:%d, upstream 127.0.0.1:%d' % (port, up))
    tcp.serve_forever()


if __name__ == '__main__':
    main()
