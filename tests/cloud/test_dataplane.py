"""The userspace data plane moves real bytes through interface endpoints."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import threading
import time
from typing import Any

import pytest

from privlink.cloud.local import proxy_protocol
from privlink.cloud.local.forwarder import HIGH_WATER
from privlink.cloud.local.workers import WorkerPool
from tests.cloud.harness import (
    REGION,
    Cloud,
    echo_handler,
    name_handler,
    recv_all,
    recv_line,
    sink_handler,
)
from tests.support import free_port, wait_for

MB = 1024 * 1024


def _port(cloud: Cloud, service_name: str) -> int:
    svc = next(s for s in cloud.provider.describe_endpoint_services() if s.name == service_name)
    return cloud.provider.describe_listeners(svc.load_balancer_arns[0])[0].port


class TestBytes:
    def test_100_mb_with_checksum(self, running_cloud: Cloud) -> None:
        """100 MB cross the endpoint intact; the reply after our EOF proves half-close."""
        backend = running_cloud.start_backend("sink", sink_handler)
        name = running_cloud.service([backend])
        endpoint = running_cloud.endpoint(name)
        payload = os.urandom(MB)
        expected = hashlib.sha256()
        with running_cloud.connect(endpoint, _port(running_cloud, name)) as sock:
            for _ in range(100):
                sock.sendall(payload)
                expected.update(payload)
            sock.shutdown(socket.SHUT_WR)
            assert recv_all(sock).decode() == expected.hexdigest()

    def test_half_close_from_the_server(self, running_cloud: Cloud) -> None:
        """The backend closes its side first; the client still sends, and it arrives."""
        received: list[int] = []

        async def greeter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"bye-for-now")
            writer.write_eof()
            total = 0
            while chunk := await reader.read(65536):
                total += len(chunk)
            received.append(total)
            writer.close()

        backend = running_cloud.start_backend("greeter", greeter)
        name = running_cloud.service([backend])
        endpoint = running_cloud.endpoint(name)
        with running_cloud.connect(endpoint, _port(running_cloud, name)) as sock:
            assert recv_all(sock) == b"bye-for-now"  # EOF reached the client
            sock.sendall(b"x" * MB)
            sock.shutdown(socket.SHUT_WR)
            wait_for(lambda: MB in received)  # health checks add zero-byte sessions

    def test_slow_reader_keeps_memory_bounded(self, running_cloud: Cloud) -> None:
        """A fast sender and a slow reader: buffers stay near the high-water mark."""
        sent: list[int] = [0]

        async def firehose(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            chunk = b"z" * 65536
            try:
                for _ in range(64 * 16):  # up to 64 MB
                    writer.write(chunk)
                    await writer.drain()
                    sent[0] += len(chunk)
            except ConnectionError:
                pass
            writer.close()

        backend = running_cloud.start_backend("firehose", firehose)
        name = running_cloud.service([backend])
        endpoint = running_cloud.endpoint(name)
        peak = 0
        with running_cloud.connect(endpoint, _port(running_cloud, name)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            got = 0
            for _ in range(200):  # read 200 x 4 KiB slowly, sampling the buffers
                got += len(sock.recv(4096))
                stats = running_cloud.loop.run(running_cloud.dataplane.forwarder.stats())
                peak = max(peak, stats.buffered)
                threading.Event().wait(0.002)
        assert peak <= 2 * HIGH_WATER + 1 * MB
        # The backend was held back: it could not send much more than the reader took
        # plus socket buffers on each hop.
        assert sent[0] < got + 24 * MB

    def test_200_concurrent_connections(self, running_cloud: Cloud) -> None:
        backend = running_cloud.start_backend("echo", echo_handler)
        name = running_cloud.service([backend])
        endpoint = running_cloud.endpoint(name)
        port = _port(running_cloud, name)
        sockets = [running_cloud.connect(endpoint, port) for _ in range(200)]
        try:
            for i, sock in enumerate(sockets):
                sock.sendall(f"conn-{i:03d}".encode())
            for i, sock in enumerate(sockets):
                data = b""
                while len(data) < 8:
                    data += sock.recv(64)
                assert data == f"conn-{i:03d}".encode()
            assert running_cloud.connections(endpoint) == 200
        finally:
            for sock in sockets:
                sock.close()


class TestHealthAndFailover:
    def test_failover_when_a_backend_dies(self, running_cloud: Cloud) -> None:
        """A dead target leaves rotation; a live connection to the other is undisturbed."""
        one = running_cloud.start_backend("one", name_handler("one"))
        two = running_cloud.start_backend("two", name_handler("two"))
        name = running_cloud.service([one, two])
        endpoint = running_cloud.endpoint(name)
        port = _port(running_cloud, name)
        seen = set()
        survivor = None
        for _ in range(6):
            sock = running_cloud.connect(endpoint, port)
            who = recv_line(sock).strip().decode()
            seen.add(who)
            if who == "two" and survivor is None:
                survivor = sock
            else:
                sock.close()
        assert seen == {"one", "two"}
        assert survivor is not None
        running_cloud.stop_backend(one)
        tg_arn = running_cloud.provider.describe_target_groups()[0].arn
        # Kernel mode rewrites its rules a moment after the health change: wait for what
        # is in effect, not only for the health state.
        wait_for(
            lambda: [t.port for t in running_cloud.dataplane.forwarding_to(tg_arn)] == [two.port],
            timeout=60,
        )
        for _ in range(4):
            assert _greets(running_cloud, endpoint, port) == b"two\n"
        survivor.sendall(b"still here\n")
        assert recv_line(survivor) == b"still here\n"
        survivor.close()
        health = {
            h.target.port: h.state for h in running_cloud.provider.describe_target_health(tg_arn)
        }
        wait_for(
            lambda: (
                {
                    h.target.port: h.state
                    for h in running_cloud.provider.describe_target_health(tg_arn)
                }[one.port]
                == "unhealthy"
            )
        )
        assert health[two.port] == "healthy"

    def test_target_comes_back(self, running_cloud: Cloud) -> None:
        one = running_cloud.start_backend("one", name_handler("one"))
        name = running_cloud.service([one])
        tg_arn = running_cloud.provider.describe_target_groups()[0].arn
        running_cloud.stop_backend(one)
        wait_for(lambda: not running_cloud.dataplane.forwarding_to(tg_arn), timeout=60)
        running_cloud.start_backend("one-again", name_handler("back"), port=one.port)
        running_cloud.wait_healthy(tg_arn, 1)
        endpoint = running_cloud.endpoint(name)
        with running_cloud.connect(endpoint, _port(running_cloud, name)) as sock:
            assert recv_line(sock) == b"back\n"

    def test_no_healthy_target_resets_at_once(self, running_cloud: Cloud) -> None:
        one = running_cloud.start_backend("one", name_handler("one"))
        name = running_cloud.service([one])
        endpoint = running_cloud.endpoint(name)
        tg_arn = running_cloud.provider.describe_target_groups()[0].arn
        running_cloud.stop_backend(one)
        wait_for(lambda: not running_cloud.dataplane.forwarding_to(tg_arn), timeout=60)
        assert_reset(running_cloud, endpoint, _port(running_cloud, name))


class TestEndpointLifecycle:
    def test_delete_ends_live_connections_and_stops_listening(self, running_cloud: Cloud) -> None:
        backend = running_cloud.start_backend("echo", echo_handler)
        name = running_cloud.service([backend])
        endpoint = running_cloud.endpoint(name)
        port = _port(running_cloud, name)
        address = running_cloud.address(endpoint)
        sock = running_cloud.connect(endpoint, port)
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
        running_cloud.customer.delete_endpoint(endpoint)
        running_cloud.dataplane.kick()
        wait_for(lambda: _ended(sock))
        sock.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, port), timeout=5)

    def test_reject_ends_connections(self, running_cloud: Cloud) -> None:
        backend = running_cloud.start_backend("echo", echo_handler)
        name = running_cloud.service([backend])
        endpoint = running_cloud.endpoint(name)
        sock = running_cloud.connect(endpoint, _port(running_cloud, name))
        svc_id = running_cloud.customer.describe_endpoint(endpoint).service_id
        running_cloud.provider.reject_endpoint_connections(svc_id, [endpoint])
        running_cloud.dataplane.kick()
        wait_for(lambda: _ended(sock))
        wait_for(lambda: running_cloud.connections(endpoint) == 0)
        sock.close()

    def test_forwards_again_after_restart(self, running_cloud: Cloud) -> None:
        backend = running_cloud.start_backend("one", name_handler("one"))
        name = running_cloud.service([backend])
        endpoint = running_cloud.endpoint(name)
        running_cloud.restart_dataplane()
        with running_cloud.connect(endpoint, _port(running_cloud, name)) as sock:
            assert recv_line(sock) == b"one\n"

    def test_a_killed_worker_is_replaced(self, running_cloud: Cloud) -> None:
        pool = running_cloud.dataplane.forwarder
        if not isinstance(pool, WorkerPool):
            pytest.skip("forwarding in this process: no workers")
        backend = running_cloud.start_backend("echo", echo_handler)
        name = running_cloud.service([backend])
        endpoint = running_cloud.endpoint(name)
        port = _port(running_cloud, name)
        victim = pool.workers[0].process
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        # Meanwhile the survivor takes every connection (the dead one's socket is gone).
        assert _echoes(running_cloud, endpoint, port)
        wait_for(lambda: all(w.alive() for w in pool.workers) and victim not in pool.processes())
        # Both listen again: connections spread over both, and every one is answered.
        assert all(_echoes(running_cloud, endpoint, port) for _ in range(40))

    def test_security_group_must_allow_the_port(self, running_cloud: Cloud) -> None:
        backend = running_cloud.start_backend("echo", echo_handler)
        name = running_cloud.service([backend])
        port = _port(running_cloud, name)
        group = running_cloud.customer.create_security_group(running_cloud.customer_vpc, "web")
        running_cloud.customer.authorize_ingress(group.id, "0.0.0.0/0", 443, 443)
        endpoint = running_cloud.endpoint(name, security_group_ids=[group.id])
        assert_reset(running_cloud, endpoint, port)
        running_cloud.customer.authorize_ingress(group.id, "127.0.0.0/8", port, port)
        running_cloud.dataplane.kick()
        wait_for(lambda: _echoes(running_cloud, endpoint, port))


def assert_reset(cloud: Cloud, endpoint: str, port: int) -> None:
    """The connection is reset at once (the RST may even beat connect() returning)."""
    with (
        pytest.raises((ConnectionResetError, ConnectionRefusedError)),
        cloud.connect(endpoint, port) as sock,
    ):
        sock.settimeout(30)
        sock.recv(10)


def _greets(cloud: Cloud, endpoint: str, port: int) -> bytes:
    with cloud.connect(endpoint, port) as sock:
        return recv_line(sock)


def _ended(sock: socket.socket) -> bool:
    """True once the connection is gone. Sending makes a kernel-mode endpoint answer
    with a reset; a userspace one has already reset the connection."""
    sock.settimeout(2)
    try:
        sock.sendall(b"?")
        return sock.recv(10) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def _echoes(cloud: Cloud, endpoint: str, port: int) -> bool:
    with cloud.connect(endpoint, port) as sock:
        sock.sendall(b"hi")
        return sock.recv(2) == b"hi"


class TestProxyProtocol:
    def test_header_carries_client_and_endpoint_id(self, running_cloud: Cloud) -> None:
        headers: list[bytes] = []

        async def reader_of_header(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            data = b""
            while not data.endswith(b"payload") and (chunk := await reader.read(4096)):
                data += chunk
            headers.append(data)
            writer.write(b"ok")
            await writer.drain()
            writer.close()

        backend = running_cloud.start_backend("pp", reader_of_header)
        # Health checks connect without a header; the handler copes with any bytes.
        name = running_cloud.service([backend], proxy_protocol_v2=True, port=free_port())
        headers.clear()
        endpoint = running_cloud.endpoint(name)
        port = _port(running_cloud, name)
        with running_cloud.connect(endpoint, port) as sock:
            client = sock.getsockname()
            sock.sendall(b"payload")
            assert recv_all(sock) == b"ok"
        header = next(h for h in headers if h)
        source, destination, tlvs, length = proxy_protocol.parse(header)
        assert source == (client[0], client[1])
        assert destination == (running_cloud.address(endpoint), port)
        assert tlvs[proxy_protocol.TLV_AWS] == b"\x01" + endpoint.encode()
        assert header[length:] == b"payload"


class TestMode:
    def test_runs_in_the_requested_mode(self, running_cloud: Cloud) -> None:
        """The suite really exercises the mode it was asked for (no silent fallback)."""
        from tests.cloud.harness import DATAPLANE_MODE

        assert running_cloud.dataplane.mode == DATAPLANE_MODE


class TestIdleCost:
    def test_passes_run_on_changes_only(self, running_cloud: Cloud) -> None:
        """With nothing changing, the data plane reads one row per interval and no routes;
        a change (here: an endpoint) brings the pass that forwards it."""
        world = running_cloud
        backend = world.start_backend("a", name_handler("a"))
        port = free_port()
        name = world.service([backend], port=port)
        passes: list[float] = []
        original = world.cloud.routes

        def counted() -> Any:
            passes.append(time.monotonic())
            return original()

        world.cloud.routes = counted  # type: ignore[method-assign]
        seen = [world.cloud.generation()]

        def settled() -> bool:  # the health checker's first writes are done
            seen.append(world.cloud.generation())
            time.sleep(0.3)
            return world.cloud.generation() == seen[-1]

        wait_for(settled)
        passes.clear()
        generation = world.cloud.generation()
        time.sleep(1.0)  # ten intervals with nothing changing
        assert world.cloud.generation() == generation
        assert passes == []
        world.cloud.create_account("other")
        world.cloud.account("other", REGION).create_vpc("10.7.0.0/16")  # forwards nothing
        assert world.cloud.generation() == generation
        endpoint = world.endpoint(name)
        assert world.cloud.generation() > generation
        assert passes  # the endpoint's pass bound it, so it went `available`
        with world.connect(endpoint, port) as sock:
            assert recv_line(sock) == b"a\n"
