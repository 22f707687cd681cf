#!/usr/bin/perl
# tests/dkim/verify.pl: verify every DKIM-Signature of a message with
# Mail::DKIM (libmail-dkim-perl), asking only the test DNS server.
#
#   verify.pl [SERVER [PORT]] < MESSAGE
#
# Keys come from SERVER:PORT (default 127.0.0.1 5353), no recursion.
# One line per signature, in the order of the header:
#   d=DOMAIN s=SELECTOR a=ALGORITHM RESULT (DETAIL)
# where RESULT is Mail::DKIM's (pass, fail, invalid, temperror, ...).
# Mail::DKIM in Debian 12 verifies RSA only: an Ed25519 signature is
# reported, not verified. Exit status 0 when every RSA signature passes
# and there is at least one, 1 otherwise.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

my ($server, $port) = (@ARGV, '127.0.0.1', 5353)[0, 1];
$port = 5353 if $server eq '127.0.0.1' && @ARGV < 2;
my $res = Net::DNS::Resolver->new(
    nameservers => [$server],
    port        => $port,
    recurse     => 0,
    retry       => 1,
    tcp_timeout => 5,
    udp_timeout => 5,
);
Mail::DKIM::DNS::resolver($res);

binmode STDIN;
my $v = Mail::DKIM::Verifier->new();
while (my $line = <STDIN>) {
    $line =~ s/\r?\n\z/\r\n/;
    $v->PRINT($line);
}
$v->CLOSE();

my ($rsa, $ok) = (0, 1);
foreach my $sig ($v->signatures) {
    my $alg = $sig->algorithm // '';
    my $result = $sig->result // 'none';
    printf "d=%s s=%s a=%s %s (%s)\n", $sig->domain // '', $sig->selector // '', $alg,
        $result, $sig->result_detail // '';
    next if $alg =~ /^ed25519/;
    $rsa++;
    $ok = 0 if $result ne 'pass';
}
exit(($rsa > 0 && $ok) ? 0 : 1);
