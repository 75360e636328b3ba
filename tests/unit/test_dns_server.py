"""The embedded DNS server on the wire: answers, refusals, truncation, bad packets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from privlink.cloud.local.dns_server import Answer, DnsServer
from privlink.domain import dns as rules
from privlink.testing import LoopThread

ZONE = "pl.example"
MANY = tuple(f"127.64.{i // 250}.{i % 250 + 1}" for i in range(60))  # > 512 bytes of answer
RECORDS = {
    f"a.{ZONE}": [rules.Record(f"a.{ZONE}", "A", ("127.64.1.10", "127.64.2.10"))],
    f"alias.{ZONE}": [rules.Record(f"alias.{ZONE}", "CNAME", (f"a.{ZONE}",))],
    f"txt.{ZONE}": [rules.Record(f"txt.{ZONE}", "TXT", ("hello world",))],
    f"many.{ZONE}": [rules.Record(f"many.{ZONE}", "A", MANY)],
    f"x.deep.{ZONE}": [rules.Record(f"x.deep.{ZONE}", "A", ("127.64.3.3",))],
}


def resolve(name: str) -> Answer:
    if not rules.within(name, ZONE):
        return Answer(None, [])
    below = any(rules.within(n, name) for n in RECORDS)
    return Answer(ZONE, RECORDS.get(name, []), exists=name == ZONE or below)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    loop = LoopThread()
    server = DnsServer(resolve, "127.0.0.1", 0)
    loop.run(server.start())
    yield server.port
    loop.run(server.stop())
    loop.close()


def ask(port: int, name: str, rdtype: str = "A", *, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return (dns.query.tcp if tcp else dns.query.udp)(query, "127.0.0.1", port=port, timeout=5)


def values(answer: dns.message.Message) -> list[str]:
    return sorted(item.to_text() for rrset in answer.answer for item in rrset)


class TestAnswers:
    def test_an_a_record_is_an_authoritative_answer(self, port: int) -> None:
        answer = ask(port, f"A.{ZONE}.")  # names are case-insensitive
        assert answer.rcode() == dns.rcode.NOERROR
        assert answer.flags & dns.flags.AA
        assert not answer.flags & dns.flags.RA  # never recursive
        assert values(answer) == ["127.64.1.10", "127.64.2.10"]

    def test_a_cname_comes_with_what_it_stands_for(self, port: int) -> None:
        assert values(ask(port, f"alias.{ZONE}")) == ["127.64.1.10", "127.64.2.10", f"a.{ZONE}."]

    def test_txt_values_are_quoted_strings(self, port: int) -> None:
        assert values(ask(port, f"txt.{ZONE}", "TXT")) == ['"hello world"']

    def test_an_unknown_name_is_nxdomain_with_the_zone_soa(self, port: int) -> None:
        answer = ask(port, f"nothing.{ZONE}")
        assert answer.rcode() == dns.rcode.NXDOMAIN
        assert [rrset.rdtype for rrset in answer.authority] == [dns.rdatatype.SOA]

    def test_a_name_with_names_below_it_exists_without_records(self, port: int) -> None:
        answer = ask(port, f"deep.{ZONE}")
        assert answer.rcode() == dns.rcode.NOERROR
        assert answer.answer == []

    def test_another_type_of_a_known_name_is_no_data(self, port: int) -> None:
        answer = ask(port, f"a.{ZONE}", "TXT")
        assert answer.rcode() == dns.rcode.NOERROR
        assert answer.answer == []

    def test_a_name_outside_what_it_serves_is_refused(self, port: int) -> None:
        assert ask(port, "example.org").rcode() == dns.rcode.REFUSED


class TestTransport:
    def test_a_big_answer_is_truncated_over_udp_and_whole_over_tcp(self, port: int) -> None:
        query = dns.message.make_query(f"many.{ZONE}", "A", use_edns=False)
        udp = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
        assert udp.flags & dns.flags.TC
        assert udp.answer == []
        assert len(values(ask(port, f"many.{ZONE}", tcp=True))) == len(MANY)

    def test_a_bad_packet_gets_no_answer_and_the_server_goes_on(self, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            sock.sendto(b"\x00\x01garbage", ("127.0.0.1", port))
            with pytest.raises(TimeoutError):
                sock.recv(512)
        assert values(ask(port, f"a.{ZONE}")) == ["127.64.1.10", "127.64.2.10"]

    def test_several_queries_on_one_tcp_connection(self, port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            for name in (f"a.{ZONE}", f"txt.{ZONE}"):
                wire = dns.message.make_query(name, "ANY").to_wire()
                sock.sendall(len(wire).to_bytes(2, "big") + wire)
                size = int.from_bytes(sock.recv(2), "big")
                data = b""
                while len(data) < size:
                    data += sock.recv(size - len(data))
                assert dns.message.from_wire(data).rcode() == dns.rcode.NOERROR
