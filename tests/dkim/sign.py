#!/usr/bin/python3
"""tests/dkim/sign.py: sign a message with dkimpy (python3-dkim).

  sign.py KEY DOMAIN SELECTOR [OPTIONS] <MESSAGE >SIGNED

KEY is a PEM private key (RSA, PKCS#1 or PKCS#8, or Ed25519 PKCS#8, as
"openssl genpkey" writes them). The signed message (the new
DKIM-Signature on top, the message as it was below it) goes to stdout;
line endings are kept as the input has them.

Options:
  -a ALG        rsa-sha256 (default), rsa-sha1, ed25519-sha256
  -c HDR/BODY   canonicalization, default relaxed/relaxed
  -l            add l= (the body length)
  -i IDENTITY   i= (default: none, dkimpy then writes @DOMAIN)
  -H a:b:c      h= (default: dkimpy's choice of the message's fields)
  -t TAG=VALUE  after signing, replace (or append) a tag in the header
                text: the signature no longer verifies; for hostile tests
"""
import base64
import getopt
import re
import subprocess
import sys

import dkim


def private_key(path, alg):
    pem = open(path, 'rb').read()
    if not alg.startswith(b'ed25519'):
        return pem
    # dkimpy wants the 32-byte Ed25519 seed, base64: the last 32 bytes of
    # the PKCS#8 DER.
    der = subprocess.run(['openssl', 'pkey', '-in', path, '-outform', 'DER'],
                         check=True, stdout=subprocess.PIPE).stdout
    return base64.b64encode(der[-32:])


def main():
    opts, args = getopt.gnu_getopt(sys.argv[1:], "a:c:li:H:t:")
    if len(args) != 3:
        sys.exit(__doc__)
    keyfile, domain, selector = args
    alg, canon, length, identity, headers, tweaks = b'rsa-sha256', b'relaxed/relaxed', False, None, None, []
    for o, v in opts:
        if o == '-a':
            alg = v.encode()
        elif o == '-c':
            canon = v.encode()
        elif o == '-l':
            length = True
        elif o == '-i':
            identity = v.encode()
        elif o == '-H':
            headers = [h.encode() for h in v.split(':')]
        elif o == '-t':
            tweaks.append(v.encode())
    msg = sys.stdin.buffer.read()
    linesep = b'\r\n' if b'\r\n' in msg else b'\n'
    hc, _, bc = canon.partition(b'/')
    sig = dkim.sign(msg, selector.encode(), domain.encode(), private_key(keyfile, alg),
                    identity=identity, canonicalize=(hc, bc or b'simple'),
                    signature_algorithm=alg, include_headers=headers, length=length,
                    linesep=linesep)
    for t in tweaks:
        name, _, value = t.partition(b'=')
        pat = re.compile(rb'(;\s*' + re.escape(name) + rb'=)[^;]*')
        if pat.search(sig):
            sig = pat.sub(lambda m: m.group(1) + value, sig, count=1)
        else:
            sig = sig.rstrip(b'\r\n') + b'; ' + t + linesep
    sys.stdout.buffer.write(sig + msg)


if __name__ == '__main__':
    main()
