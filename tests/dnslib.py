"""tests/dnslib.py: what the test DNS servers share (tests/dns-fault.py,
tests/dkim/dns-proxy.py): the log, the query name, and a server on
127.0.0.1:PORT over UDP and TCP around a function that answers.

respond(pkt, tcp) returns a list of (delay in seconds, reply bytes); []
means no answer (over TCP the connection is held 30 s, saying nothing).
Standard library only.
"""
import socket
import socketserver
import struct
import sys
import threading
import time

LOG = sys.stderr
LOCK = threading.Lock()


def open_log(path):
    """Log to PATH (appended to), or to stderr when PATH is None."""
    global LOG
    LOG = open(path, 'a') if path is not None else sys.stderr


def log(*words):
    with LOCK:
        LOG.write('%.3f %s\n' % (time.time(), ' '.join(str(w) for w in words)))
        LOG.flush()


def qname(pkt):
    """The question name of a query, lower case ('' when unreadable)."""
    pos, labels = 12, []
    while pos < len(pkt) and pkt[pos] and not pkt[pos] & 0xc0:
        n = pkt[pos]
        labels.append(pkt[pos + 1:pos + 1 + n].decode('latin-1').lower())
        pos += 1 + n
    return '.'.join(labels)


def send_later(delay, fn, data):
    if delay:
        threading.Timer(delay, fn, (data,)).start()
    else:
        fn(data)


def serve_udp(sock, respond, threaded):
    """Answer the datagrams on sock; with threaded, respond runs in a
    thread of its own for each (it may block, as a forwarder does)."""
    def work(pkt, peer):
        for delay, data in respond(pkt, False):
            send_later(delay, lambda d, p=peer: sock.sendto(d, p), data)

    while True:
        try:
            pkt, peer = sock.recvfrom(65535)
            if threaded:
                threading.Thread(target=work, args=(pkt, peer), daemon=True).start()
            else:
                work(pkt, peer)
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
                replies = self.server.respond(pkt, True)
                if not replies:
                    time.sleep(30)  # timeout: hold the connection, say nothing
                    return
                for delay, data in replies:
                    time.sleep(delay)
                    self.request.sendall(struct.pack('>H', len(data)) + data)
        except Exception as e:
            log('tcp error:', repr(e))


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, addr, respond):
        self.respond = respond
        super().__init__(addr, TCPHandler)


def serve(port, respond, banner, threaded_udp=False):
    """Serve respond on 127.0.0.1:PORT (UDP and TCP) for ever; logs banner
    once listening."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(('127.0.0.1', port))
    tcp = TCPServer(('127.0.0.1', port), respond)
    threading.Thread(target=serve_udp, args=(udp, respond, threaded_udp), daemon=True).start()
    log(banner)
    tcp.serve_forever()
