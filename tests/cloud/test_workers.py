"""The worker pool's channel at the sizes an install reaches: thousands of target groups
and endpoints go in bounded messages, and a connection's bytes pass through a worker."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import stat
import tempfile
from pathlib import Path

import pytest

from privlink.cloud.contract import Target
from privlink.cloud.local.forwarder import Listen
from privlink.cloud.local.workers import SOURCE, WorkerPool, compiled
from privlink.testing import LoopThread, free_port


@pytest.fixture
def pool() -> WorkerPool:
    program = compiled()
    if program is None:
        pytest.skip("no C compiler: the data plane forwards in its own process")
    return WorkerPool(1, program)


def test_thousands_of_groups_and_endpoints_fit_the_channel(pool: WorkerPool) -> None:
    loop = LoopThread()
    backend = socket.create_server(("127.0.0.1", 0))
    try:
        loop.run(pool.start())
        groups = {
            f"arn:aws:elasticloadbalancing:eu-west-1:000000000000:targetgroup/pl-{i:05}/"
            + "0" * 16: [Target("127.0.0.1", 10000 + i % 50000)]
            for i in range(5000)
        }
        loop.run(pool.set_targets(groups))
        arn = next(iter(groups))
        loop.run(pool.set_targets({arn: [Target("127.0.0.1", backend.getsockname()[1])]}))
        port = free_port()
        loop.run(pool.listen(Listen("vpce-listened", "127.0.0.1", port, arn, False, ())))
        live = {f"vpce-{i:017}" for i in range(20000)} | {"vpce-listened"}
        assert loop.run(pool.retain(live)) == {}

        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            accepted, _ = backend.accept()
            with accepted:
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"
                assert loop.run(pool.stats("vpce-listened")).live == {"vpce-listened": 1}
                # The endpoint goes away: its connection is reset.
                assert loop.run(pool.retain(live - {"vpce-listened"})) == {"vpce-listened": 1}
                with contextlib.suppress(ConnectionResetError):  # reset, or at least ended
                    assert client.recv(10) == b""
    finally:
        loop.run(pool.close())
        loop.close()
        backend.close()


def test_a_program_others_could_have_written_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker runs with the server's rights: one planted in a folder others may
    write is passed over, and the program is built in a folder of this user's own."""
    if compiled() is None:
        pytest.skip("no C compiler")
    shared = tmp_path / "cache" / "privlink"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    planted = shared / f"forward-{digest}"
    planted.write_text("#!/bin/sh\necho planted\n")
    planted.chmod(0o755)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    program = compiled()

    assert program is not None
    assert program != planted
    assert program.parent == tmp_path / "tmp" / f"privlink-{os.getuid()}"
    assert stat.S_IMODE(program.parent.stat().st_mode) == 0o700
