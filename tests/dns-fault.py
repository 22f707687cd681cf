#!/usr/bin/python3
"""tests/dns-fault.py PORT [LOGFILE]: a DNS responder that misbehaves on purpose.

Listens on 127.0.0.1:PORT over UDP and TCP (standard library and
tests/dnslib.py). What it does is chosen by the first label of the query
name under fault.test:

  ok         A 192.0.2.1              slow      A 192.0.2.1 after 1.5 s
  timeout    never answers            tc        UDP: TC=1, no records; TCP: A
             (TCP: holds the socket)            192.0.2.10, TXT over 1232 bytes
  big        TXT over 1232 bytes (over UDP truncated: it must come by TCP)
  garbage    right header and question, then junk records
  shortpkt   5 bytes (id, flags, one byte)
  wrongid    first a wrong id with A 6.6.6.6, then A 192.0.2.11
  wrongq     first another question name with A 6.6.6.6, then A 192.0.2.11
  servfail / refused    that RCODE       nx / nodata   NXDOMAIN / NOERROR, SOA
  cname1     cname1 -> cname1-2 -> cname1-3 -> cname1-end A 192.0.2.12, one answer
  cnamesplit CNAME target.fault.test only; target: A 192.0.2.13
  cnameloop  cnameloop <-> cnameloop-b   cnamelong  cnamelong -> -1 -> ... -> -12
             (cnamelong-12: A 192.0.2.14), one hop per query
  badcomp    an answer whose owner is a compression pointer to itself
  ttl0       A 192.0.2.16, TTL 0      cached    A 192.0.2.17, TTL 300
  spfslow    TXT "v=spf1 a:slow.fault.test -all" at once (its A lookup is slow)
  spfinc     TXT "v=spf1 include:timeout.fault.test -all" at once
  spfgate    TXT "v=spf1 a:gate1a mx:gate1b a:gate1c include:gate1d -all"
             (each .fault.test) at once. The gateN names are answered in
             groups (gate1, gate2), the answers of a group held until
             GATE_HOLD (0.5 s) after its first query came in; a query of
             the group that comes in later than that gets SERVFAIL (the
             window reopens GATE_REOPEN (5 s) after the first query). So a
             group asked all at once is answered, one asked a query at a
             time fails: gate1a A 192.0.2.21, gate1b MX 10 gate2b, gate1c
             A 192.0.2.23, gate1d TXT "v=spf1 a:gate2a.fault.test -all";
             gate2a A 192.0.2.24, gate2b A 198.51.100.101 (the SPF
             scenarios' client: mx:gate1b passes it).
Other types for the names with an address: AAAA 2001:db8::N, TXT "name",
otherwise NODATA. Under badbl.test (a DNSBL), by the first label (the last
octet of the client): 51 five A records outside 127/8; 52 an A record with
rdlength 5; 53 A 127.0.0.2 with a TXT full of control and 8-bit bytes;
anything else NXDOMAIN. Every other name: NXDOMAIN with a SOA.
One log line per query: time, proto, name, type, what was done.
"""
import os
import random
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnslib import log, open_log, serve  # noqa: E402

T_A, T_CNAME, T_SOA, T_TXT, T_AAAA = 1, 5, 6, 16, 28
TYPES = {1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA'}
ADDR = {'ok': 1, 'slow': 1, 'tc': 10, 'big': 15, 'wrongid': 11, 'wrongq': 11,
        'cname1-end': 12, 'target': 13, 'cnamelong-12': 14, 'ttl0': 16, 'cached': 17}
# SPF records (tests/run-spf-scenarios.sh): answered at once for TXT,
# NODATA for any other type.
SPF = {'spfslow': 'v=spf1 a:slow.fault.test -all',
       'spfinc': 'v=spf1 include:timeout.fault.test -all',
       'spfgate': 'v=spf1 a:gate1a.fault.test mx:gate1b.fault.test a:gate1c.fault.test '
                  'include:gate1d.fault.test -all'}
GATE_HOLD, GATE_REOPEN = 0.5, 5.0
GATE_FIRST = {}  # group -> when its first query of the window came in
T_MX = 15


def name_wire(name):
    out = b''
    for label in name.strip('.').split('.'):
        if label:
            out += bytes([len(label)]) + label.encode('latin-1')
    return out + b'\0'


def parse_query(pkt):
    """(id, rd flag, qname, qtype, question bytes, EDNS size) or None."""
    if len(pkt) < 12:
        return None
    qid, flags, qd = struct.unpack('>HHH', pkt[:6])
    if flags & 0x8000 or qd != 1:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(pkt) or pkt[pos] & 0xc0:
            return None
        n = pkt[pos]
        pos += 1
        if n == 0:
            break
        labels.append(pkt[pos:pos + n].decode('latin-1').lower())
        pos += n
    if pos + 4 > len(pkt):
        return None
    qtype = struct.unpack('>H', pkt[pos:pos + 2])[0]
    question = pkt[12:pos + 4]
    edns = 512
    rest = pkt[pos + 4:]  # one OPT record, as stub resolvers send it
    if len(rest) >= 11 and rest[0] == 0 and struct.unpack('>H', rest[1:3])[0] == 41:
        edns = max(512, struct.unpack('>H', rest[3:5])[0])
    return qid, flags & 0x0100, '.'.join(labels), qtype, question, edns


def rr(owner, rtype, rdata, ttl=300):
    return (owner if isinstance(owner, bytes) else name_wire(owner)) + \
        struct.pack('>HHIH', rtype, 1, ttl, len(rdata)) + rdata


def soa(qname):
    apex = next((z for z in ('fault.test', 'badbl.test') if qname.endswith('.' + z)), '')
    return rr(apex, T_SOA, name_wire('ns.fault.test') + name_wire('hostmaster.fault.test')
              + struct.pack('>IIIII', 1, 3600, 600, 86400, 60))


def packet(qid, rd, question, rcode=0, answers=(), auth=(), tc=False, extra=b''):
    flags = 0x8400 | rd | rcode | (0x0200 if tc else 0)
    return struct.pack('>HHHHHH', qid, flags, 1, len(answers), len(auth), 0) + \
        question + b''.join(answers) + b''.join(auth) + extra


def records(label, name, qtype):
    """The answer records for a name that has data, or [] (NODATA)."""
    n = ADDR[label]
    ttl = {'ttl0': 0}.get(label, 300)
    if qtype == T_A:
        return [rr(name, T_A, bytes([192, 0, 2, n]), ttl)]
    if qtype == T_AAAA:
        return [rr(name, T_AAAA, socket.inet_pton(socket.AF_INET6, '2001:db8::%d' % n), ttl)]
    if qtype == T_TXT and label in ('tc', 'big'):
        return [rr(name, T_TXT, bytes([250]) + (b'%s-%d-' % (label.encode(), i)).ljust(250, b'x'))
                for i in range(1, 7)]
    if qtype == T_TXT:
        return [rr(name, T_TXT, bytes([len(label)]) + label.encode())]
    return []


def cname(owner, target):
    return rr(owner, T_CNAME, name_wire(target))


def respond(pkt, tcp):
    """A list of (delay in seconds, reply bytes); [] means no answer."""
    q = parse_query(pkt)
    if q is None:
        log('tcp' if tcp else 'udp', 'unparsable query of', len(pkt), 'bytes: ignored')
        return []
    qid, rd, name, qtype, question, edns = q
    label = name.split('.')[0]
    proto = 'tcp' if tcp else 'udp'
    log(proto, name, TYPES.get(qtype, qtype))
    ok = lambda answers: [(0, packet(qid, rd, question, 0, answers))]
    SOA = soa(name)
    nx = [(0, packet(qid, rd, question, 3, auth=[SOA]))]
    if name.endswith('.badbl.test'):
        if label == '51':
            junk = ['0.0.0.0', '255.255.255.255', '10.1.2.3', '192.0.2.1', '128.0.0.2']
            return ok([rr(name, T_A, socket.inet_aton(a)) for a in junk]
                      if qtype == T_A else [])
        if label == '52':
            return ok([rr(name, T_A, b'\x7f\x00\x00\x02\x00')] if qtype == T_A else [])
        if label == '53':
            text = b'listed\r\n550 5.7.1 evil\x00\x01\x1b[31m\xff\xfe' + b'\xe9' * 200
            return ok([rr(name, T_A, b'\x7f\x00\x00\x02')] if qtype == T_A else
                      [rr(name, T_TXT, bytes([len(text)]) + text)] if qtype == T_TXT else [])
        return nx
    if not name.endswith('.fault.test') or name.count('.') != 2:
        return nx
    if label == 'timeout':
        return []
    if label in SPF:
        text = SPF[label].encode()
        answers = [rr(name, T_TXT, bytes([len(text)]) + text)] if qtype == T_TXT else []
        return [(0, packet(qid, rd, question, 0, answers, [] if answers else [SOA]))]
    if label.startswith('gate') and len(label) == 6:
        return gate(qid, rd, question, name, label, qtype, SOA)
    if label == 'tc' and not tcp:
        return [(0, packet(qid, rd, question, tc=True))]
    if label in ADDR:
        reply = packet(qid, rd, question, 0, records(label, name, qtype),
                       [] if qtype in (T_A, T_AAAA, T_TXT) else [SOA])
        if not tcp and len(reply) > edns:
            reply = packet(qid, rd, question, tc=True)
        first = []
        if label == 'wrongid':
            first = [(0, packet(qid ^ 0xffff, rd, question, 0, [rr(name, T_A, bytes([6] * 4))]))]
        elif label == 'wrongq':
            other = name_wire('other.fault.test') + question[-4:]
            first = [(0, packet(qid, rd, other, 0, [rr('other.fault.test', T_A, bytes([6] * 4))]))]
        return first + [(1.5 if label == 'slow' else 0.05 if first else 0, reply)]
    if label == 'garbage':
        junk = bytes(random.Random(name).randrange(256) for _ in range(60))
        return [(0, struct.pack('>HHHHHH', qid, 0x8400 | rd, 1, 3, 0, 0) + question
                 + b'\xff\xff' + junk)]
    if label == 'shortpkt':
        return [(0, struct.pack('>HH', qid, 0x8400 | rd) + b'\0')]
    if label in ('servfail', 'refused'):
        return [(0, packet(qid, rd, question, 2 if label == 'servfail' else 5))]
    if label == 'nx':
        return nx
    if label == 'nodata':
        return [(0, packet(qid, rd, question, 0, auth=[SOA]))]
    if label in ('cname1', 'cname1-2', 'cname1-3'):
        chain = ['cname1', 'cname1-2', 'cname1-3', 'cname1-end']
        chain = chain[chain.index(label):]
        names = [c + '.fault.test' for c in chain]
        answers = [cname(a, b) for a, b in zip(names, names[1:])]
        return ok(answers + records('cname1-end', names[-1], qtype))
    if label == 'cnamesplit':
        return ok([cname(name, 'target.fault.test')])
    if label == 'cnameloop':
        return ok([cname(name, 'cnameloop-b.fault.test'),
                   cname('cnameloop-b.fault.test', name)])
    if label == 'cnameloop-b':
        return ok([cname(name, 'cnameloop.fault.test')])
    if label == 'cnamelong' or (label.startswith('cnamelong-') and label[10:].isdigit()):
        n = int(label[10:] or 0)
        return ok([cname(name, 'cnamelong-%d.fault.test' % (n + 1))]) if n < 12 else nx
    if label == 'badcomp':
        at = 12 + len(question)  # the answer's owner is a pointer to itself
        return [(0, struct.pack('>HHHHHH', qid, 0x8400 | rd, 1, 1, 0, 0) + question
                 + struct.pack('>HHHIH', 0xc000 | at, qtype, 1, 300, 4) + b'\xc0\x00\x02\x09')]
    return nx


def txt(text):
    return bytes([len(text)]) + text


def gate(qid, rd, question, name, label, qtype, soa_rr):
    """A gateN name (see the docstring): held with its group, or SERVFAIL."""
    group, now = label[:5], time.monotonic()
    first = GATE_FIRST.get(group)
    if first is None or now - first > GATE_REOPEN:
        first = GATE_FIRST[group] = now
    if now - first > GATE_HOLD:
        log('gate', name, 'came in %.3f s after its group: SERVFAIL' % (now - first))
        return [(0, packet(qid, rd, question, 2))]
    data = {('gate1a', T_A): rr(name, T_A, bytes([192, 0, 2, 21])),
            ('gate1b', T_MX): rr(name, T_MX, struct.pack('>H', 10) + name_wire('gate2b.fault.test')),
            ('gate1c', T_A): rr(name, T_A, bytes([192, 0, 2, 23])),
            ('gate1d', T_TXT): rr(name, T_TXT, txt(b'v=spf1 a:gate2a.fault.test -all')),
            ('gate2a', T_A): rr(name, T_A, bytes([192, 0, 2, 24])),
            ('gate2b', T_A): rr(name, T_A, bytes([198, 51, 100, 101]))}.get((label, qtype))
    reply = packet(qid, rd, question, 0, [data] if data else [], [] if data else [soa_rr])
    return [(first + GATE_HOLD - now, reply)]


def main():
    port = int(sys.argv[1])
    open_log(sys.argv[2] if len(sys.argv) > 2 else None)
    serve(port, respond, 'listening on 127.0.0.1:%d (udp, tcp)' % port)


if __name__ == '__main__':
    main()
