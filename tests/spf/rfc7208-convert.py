#!/usr/bin/env python3
"""rfc7208-convert: the RFC 7208 test suite (YAML) as lines for tests/spf/conformance.

    rfc7208-convert.py rfc7208-tests.yml[.gz] >rfc7208.data

The suite (openspf.org, shipped by Debian's python3-spf) is a series of
scenarios, each a zone and the tests run against it. This script reads it
with PyYAML and writes what the C runner needs, one item per line, fields
separated by one space:

    scenario DESCRIPTION
    dns NAME TYPE [VALUE...]
    test ID HOST HELO MAILFROM RESULT[,RESULT...] SPEC

A "scenario" line starts a new zone; the "dns" and "test" lines after it
belong to it. TYPE is A, AAAA, MX (VALUE: preference and name), PTR,
CNAME, TXT, SPF or TIMEOUT (no VALUE). The records of a name keep their
order, which matters for TIMEOUT: a query times out when no record of its
type comes before the marker.

The record rules of the suite are applied here, so the runner sees plain
records: a TXT or SPF value that is a list of character-strings is joined
without separator (text is encoded as UTF-8, as the suite's YAML escapes
like "\\xEF" are code points); the value NONE means no record; SPF records
are also served as TXT, after every other record of the name, unless the
name has TXT records of its own.

Every field is escaped: bytes outside '!'..'~', the backslash and the
double quote are written \\xHH; an empty field is written "".
"""

import gzip
import sys

import yaml

TYPES = ("A", "AAAA", "MX", "PTR", "CNAME", "TXT", "SPF")


def field(value):
    """One field: str (encoded UTF-8), bytes or int, escaped."""
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not value:
        return '""'
    out = []
    for b in value:
        if b < 0x21 or b > 0x7E or b in (0x5C, 0x22):
            out.append("\\x%02x" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def text_value(value):
    """A TXT or SPF value: a string or a list of character-strings."""
    if isinstance(value, (list, tuple)):
        return "".join(str(s) for s in value)
    return str(value)


def zone_lines(name, records):
    """The dns lines of one name, in the order the suite serves them."""
    lines, made_txt = [], []
    own_txt = False
    for rec in records:
        if rec == "TIMEOUT":
            lines.append(("TIMEOUT",))
            continue
        if not isinstance(rec, dict) or len(rec) != 1:
            raise ValueError("%s: unexpected record %r" % (name, rec))
        ((rtype, value),) = rec.items()
        if rtype not in TYPES:
            raise ValueError("%s: unknown record type %s" % (name, rtype))
        if rtype in ("TXT", "SPF"):
            value = text_value(value)
            if rtype == "TXT":
                own_txt = True
            else:
                made_txt.append(value)
            if value == "NONE":
                continue
            lines.append((rtype, value))
        elif rtype == "MX":
            pref, host = value
            lines.append((rtype, int(pref), str(host)))
        else:
            lines.append((rtype, str(value)))
    if not own_txt:
        lines += [("TXT", v) for v in made_txt if v != "NONE"]
    return ["dns %s %s" % (field(name), " ".join(field(f) for f in line))
            for line in lines]


def results(value):
    if isinstance(value, str):
        value = [value]
    for r in value:
        if not r.isalpha():
            raise ValueError("bad result %r" % r)
    return ",".join(value)


def test_line(tid, t):
    for key in ("host", "helo", "mailfrom", "result"):
        if key not in t:
            raise ValueError("test %s has no %s" % (tid, key))
    return "test %s %s %s %s %s %s" % (
        field(tid), field(t["host"]), field(t["helo"]), field(t["mailfrom"]),
        results(t["result"]), field(str(t.get("spec", ""))))


def convert(path, out):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        scenarios = list(yaml.safe_load_all(f))
    seen = set()
    ntests = 0
    out.write("# from %s by rfc7208-convert.py\n" % path)
    for s in scenarios:
        if not s:
            continue
        out.write("scenario %s\n" % field(s.get("description", "")))
        for name, records in (s.get("zonedata") or {}).items():
            for line in zone_lines(name, records):
                out.write(line + "\n")
        for tid, t in s["tests"].items():
            if tid in seen:
                raise ValueError("test id %s appears twice" % tid)
            seen.add(tid)
            out.write(test_line(tid, t) + "\n")
            ntests += 1
    return len(scenarios), ntests


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: rfc7208-convert.py rfc7208-tests.yml[.gz]\n")
        return 2
    try:
        nscen, ntests = convert(argv[1], sys.stdout)
    except (OSError, ValueError, yaml.YAMLError) as e:
        sys.stderr.write("rfc7208-convert: %s\n" % e)
        return 1
    sys.stderr.write("rfc7208-convert: %d scenarios, %d tests\n" % (nscen, ntests))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
