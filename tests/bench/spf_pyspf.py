#!/usr/bin/python3
"""spf_pyspf [--pydns] PORT ROUNDS OUT NAME=DOMAIN,CLIENT...: the peer of
tests/bench/spf_eval. Runs pyspf's check_host() (Debian's python3-spf,
what policyd-spf uses) on each case, bench@DOMAIN from CLIENT, against
the DNS server on 127.0.0.1:PORT, ROUNDS rounds with the cases in turn.
pyspf asks dnspython when it is installed (its cache is off here) and
pydns otherwise (python3-spf depends on either); --pydns makes it take
pydns. Either is pointed at the server. Writes "peer LIBRARY" to OUT,
then one line per case:
    NAME RESULT QUERIES MEDIAN-MS P99-MS QUERY-MS
where QUERIES is how many DNS queries one evaluation made and QUERY-MS
the median of one A query through the same DNS library alone (the
floor pyspf stands on)."""
import sys
import time
import warnings

if sys.argv[1:2] == ['--pydns']:
    del sys.argv[1]
    sys.modules['dns'] = None  # pyspf's import of dnspython fails
import spf  # noqa: E402


def pct(v, p):
    v = sorted(v)
    return v[int(p * (len(v) - 1) + 0.5)]


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    port, rounds, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cases = []
    for arg in sys.argv[4:]:
        name, rest = arg.split('=', 1)
        domain, client = rest.rsplit(',', 1)
        cases.append((name, domain, client))
    warnings.simplefilter('ignore', DeprecationWarning)

    if spf.DNSLookup is spf.DNSLookup_dnspython:
        import dns.resolver
        import dns.version
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = ['127.0.0.1']
        res.port = port
        res.cache = None
        res.lifetime = 5.0
        dns.resolver.default_resolver = res
        library = 'dnspython'
        version = dns.version.version

        def one(name):
            res.resolve(name, 'A')
    else:
        import DNS
        DNS.defaults['server'] = ['127.0.0.1']
        DNS.defaults['port'] = port
        library = 'pydns'
        version = DNS.__version__

        def one(name):
            DNS.DnsRequest(name, qtype='A', timeout=5).req()
    print('# pyspf %s over %s %s' % (spf.__version__, library, version))

    queries = [0]
    lookup = spf.DNSLookup

    def counting(*args, **kwargs):
        queries[0] += 1
        return lookup(*args, **kwargs)

    spf.DNSLookup = counting

    times = {c[0]: [] for c in cases}
    results = {c[0]: set() for c in cases}
    counts = {c[0]: set() for c in cases}
    single = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        one(cases[0][1])
        single.append((time.perf_counter() - t0) * 1000)
        for name, domain, client in cases:
            queries[0] = 0
            t0 = time.perf_counter()
            result, _ = spf.check2(i=client, s='bench@' + domain,
                                   h='mx.client.test', receiver='mx.bench.test')
            times[name].append((time.perf_counter() - t0) * 1000)
            results[name].add(result)
            counts[name].add(queries[0])
    with open(out, 'w') as f:
        f.write('peer %s\n' % library)
        for name, _, _ in cases:
            result = '/'.join(sorted(results[name]))
            f.write('%s %s %d %.3f %.3f %.3f\n' % (
                name, result, max(counts[name]), pct(times[name], 0.5),
                pct(times[name], 0.99), pct(single, 0.5)))


main()
