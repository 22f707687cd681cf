#!/usr/bin/python3
"""tests/dkim/fields.py MESSAGE: the message split as an MTA hands it to a
milter, NUL-separated on stdout: NAME, VALUE for each header field (the
white space after the colon removed, folding kept as LF), then the body
with CRLF line endings. For rawmilter (tests/lib.sh) via mapfile -d ''.
"""
import re
import sys

text = open(sys.argv[1], 'rb').read().replace(b'\r\n', b'\n')
head, _, body = text.partition(b'\n\n')
out = []
for field in re.split(rb'\n(?![ \t])', head):
    name, _, value = field.partition(b':')
    out += [name, value.lstrip(b' \t')]
out.append(body.replace(b'\n', b'\r\n'))
sys.stdout.buffer.write(b'\0'.join(out) + b'\0')
