#!/usr/bin/python3
"""tests/dkim/verify.py: verify every DKIM-Signature of a message with
dkimpy, asking only the test DNS server.

  verify.py [-s SERVER:PORT] MESSAGE

The keys come from SERVER:PORT (default 127.0.0.1:5353) over UDP, then
TCP when the answer is truncated; nothing else is ever asked. One line per
signature, in the order of the header:
  INDEX d=DOMAIN s=SELECTOR a=ALGORITHM pass|fail
Exit status 0 when there is at least one signature and all pass, 1
otherwise, 2 on a usage error.
"""
import getopt
import re
import sys

import dkim
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


def main():
    opts, args = getopt.gnu_getopt(sys.argv[1:], "s:")
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    server, port = '127.0.0.1', 5353
    for o, v in opts:
        if o == '-s':
            server, _, p = v.rpartition(':')
            port = int(p)

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        q = dns.message.make_query(name, dns.rdatatype.TXT)
        r = dns.query.udp(q, server, port=port, timeout=timeout)
        if r.flags & dns.flags.TC:
            r = dns.query.tcp(q, server, port=port, timeout=timeout)
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                for rd in rrset:
                    return b''.join(rd.strings)
        return None

    msg = open(args[0], 'rb').read()
    d = dkim.DKIM(msg, minkey=1024)
    sigs = [h for h in d.headers if h[0].lower() == b'dkim-signature']
    ok = len(sigs) > 0
    for idx, (_, value) in enumerate(sigs):
        tags = dict((m.group(1), re.sub(rb'\s+', b'', m.group(2)))
                    for m in re.finditer(rb'\s*([a-z]+)\s*=([^;]*)', value))
        try:
            res = d.verify(idx=idx, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print('# signature %d: %s' % (idx, e), file=sys.stderr)
            res = False
        ok = ok and res
        print('%d d=%s s=%s a=%s %s' % (idx, tags.get(b'd', b'').decode(), tags.get(b's', b'').decode(),
                                        tags.get(b'a', b'').decode(), 'pass' if res else 'fail'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
