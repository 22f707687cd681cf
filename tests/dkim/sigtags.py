#!/usr/bin/python3
"""tests/dkim/sigtags.py MESSAGE|-: the tags of each DKIM-Signature of a
message (or of header values given one per line on stdin with "-", each
value as it follows "DKIM-Signature:"), one line per signature in header
order:
  d=DOMAIN s=SELECTOR a=ALG c=CANON b8=FIRST-8-OF-B i=IDENTITY|- l=LEN|- h=H:H:...
The values lose their folding white space; h= is lower-cased.
"""
import re
import sys


def tags(value):
    out = {}
    for part in value.split(b';'):
        name, eq, val = part.partition(b'=')
        if eq:
            out[name.strip().decode()] = re.sub(rb'\s+', b'', val).decode('latin-1')
    return out


def values(text):
    text = text.replace(b'\r\n', b'\n')
    head = text.split(b'\n\n', 1)[0]
    fields = re.split(rb'\n(?![ \t])', head)
    return [f.split(b':', 1)[1] for f in fields if f.lower().startswith(b'dkim-signature:')]


def main():
    if sys.argv[1] == '-':
        vals = [line.rstrip(b'\n') for line in sys.stdin.buffer]
    else:
        vals = values(open(sys.argv[1], 'rb').read())
    for v in vals:
        t = tags(v)
        print('d=%s s=%s a=%s c=%s b8=%s i=%s l=%s h=%s' % (
            t.get('d', '-'), t.get('s', '-'), t.get('a', '-'), t.get('c', 'simple/simple'),
            t.get('b', '-')[:8], t.get('i', '-'), t.get('l', '-'), t.get('h', '-').lower()))


if __name__ == '__main__':
    main()
