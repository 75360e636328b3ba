"""Userspace forwarding on every core: worker processes running `forward.c`.

The server process binds each endpoint address:port once per worker with
SO_REUSEPORT, so the kernel spreads new connections over the workers' sockets, and
hands each worker its socket over a Unix SEQPACKET channel (SCM_RIGHTS). It pushes
the healthy targets of each group as they change. No connection passes through the
server process, and a worker that dies is started again with every listener. The
messages are described at the top of forward.c.

The worker is compiled on first use (with the system's C compiler) into a cache
folder, once per version of its source; without a compiler the data plane forwards
in the server process with `Forwarder` instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import structlog

from privlink.cloud.contract import Target
from privlink.cloud.local.forwarder import BACKLOG, Listen, Meter, Stats, merge_targets

log = structlog.get_logger(__name__)
PACKET = 1 << 20  # the largest message either side reads (forward.c's PACKET)
# Messages are split to stay far below a SEQPACKET socket's send buffer (~200 KiB).
GROUPS_PER_MESSAGE = 200
ENDPOINTS_PER_MESSAGE = 500
CALL_TIMEOUT = 30.0  # generous: a worker's first answer waits for its start-up
SOURCE = Path(__file__).with_name("forward.c")
_building = threading.Lock()


class WorkerGone(OSError):
    """A worker process ended or stopped answering."""


def compiled() -> Path | None:
    """The worker program for this version of forward.c, built if needed; None when
    there is no C compiler (or it failed: then the reason is logged).

    Only a folder and program that this user owns and nobody else may write are used:
    the program runs with the server's rights, so one another user planted (in a shared
    temporary folder, say) must never be.
    """
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    for folder in (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "privlink",
        Path(tempfile.gettempdir()) / f"privlink-{os.getuid()}",
    ):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue  # not writable: try the next
        if not _ours(folder):
            continue
        binary = folder / f"forward-{digest}"
        if binary.exists():
            if _ours(binary):
                return binary
            continue
        return _build(folder, binary, digest)
    return None


def _ours(path: Path) -> bool:
    found = path.lstat()
    return found.st_uid == os.getuid() and not found.st_mode & 0o022 and not path.is_symlink()


def _build(folder: Path, binary: Path, digest: str) -> Path | None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    partial = folder / f".forward-{digest}.{os.getpid()}"
    with _building:
        try:
            built = subprocess.run(
                [compiler, "-O2", "-o", str(partial), str(SOURCE)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if built.returncode == 0:
                partial.replace(binary)  # atomic: servers starting together may race
                return binary
            why = built.stderr[-2000:]
        except (OSError, subprocess.TimeoutExpired) as error:
            why = str(error)
    log.error("cannot build the data plane worker", error=why)
    return None


def shared_listener(address: str, port: int) -> socket.socket:
    """One listening socket in address:port's SO_REUSEPORT group."""
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((address, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def bind_group(address: str, port: int, count: int) -> list[socket.socket]:
    """`count` listening sockets on one address:port, sharing it through SO_REUSEPORT.

    A plain bind first: SO_REUSEPORT would let these join another process's sockets
    on the port (one left over by a previous leader, say); this way that is refused
    as "address already in use", like a single listener would be.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((address, port))
    group: list[socket.socket] = []
    try:
        for _ in range(count):
            group.append(shared_listener(address, port))
    except OSError:
        for sock in group:
            sock.close()
        raise
    return group


def listen_message(spec: Listen) -> tuple[str, ...]:
    rules = ";".join(f"{cidr},{low},{high}" for cidr, low, high in spec.ingress)
    pp2 = "1" if spec.proxy_protocol_v2 else "0"
    return ("L", spec.address, str(spec.port), spec.endpoint_id, spec.target_group_arn, pp2, rules)


def targets_messages(groups: dict[str, list[Target]]) -> list[tuple[str, ...]]:
    """`T` messages for these groups, a bounded number of groups each."""
    arns = list(groups)
    messages = []
    for start in range(0, len(arns), GROUPS_PER_MESSAGE):
        fields = ["T"]
        for arn in arns[start : start + GROUPS_PER_MESSAGE]:
            fields += [arn, ",".join(f"{t.host}:{t.port}" for t in groups[arn])]
        messages.append(tuple(fields))
    return messages


def counts(fields: list[str]) -> dict[str, int]:
    """ "endpoint=count" fields of an answer."""
    return {key: int(value) for key, _, value in (f.rpartition("=") for f in fields)}


class Worker:
    """One worker process and the channel to it (blocking calls, one at a time)."""

    def __init__(self, program: Path) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.process = subprocess.Popen(
                [str(program), str(theirs.fileno())], pass_fds=(theirs.fileno(),)
            )
        ours.settimeout(CALL_TIMEOUT)
        self.channel = ours
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, *fields: str, sock: socket.socket | None = None) -> list[str]:
        """Send one message; the fields of the answer after its "OK"."""
        data = "\t".join(fields).encode()
        with self.lock:
            try:
                if sock is None:
                    self.channel.send(data)
                else:
                    socket.send_fds(self.channel, [data], [sock.fileno()])
                answer = self.channel.recv(PACKET)
            except OSError as error:
                raise WorkerGone(f"data plane worker {self.process.pid}: {error}") from error
        if not answer:
            raise WorkerGone(f"data plane worker {self.process.pid} ended")
        status, *rest = answer.decode().split("\t")
        if status != "OK":
            raise OSError(int(rest[0]), rest[1])
        return rest

    def end(self) -> None:
        self.channel.close()  # the worker sees the channel end and exits
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class WorkerPool:
    """The `Forwarder` interface, served by worker processes (one per core by default)."""

    def __init__(self, count: int, program: Path) -> None:
        self.count = count
        self.program = program
        self.workers: list[Worker] = []
        self.servers: dict[tuple[str, int], Listen] = {}
        self.targets: dict[str, list[Target]] = {}
        self.endpoints: set[str] = set()  # every endpoint a worker may hold connections of

    async def start(self) -> None:
        self.workers = [Worker(self.program) for _ in range(self.count)]

    def healthy(self, target_group_arn: str) -> list[Target]:
        return self.targets.get(target_group_arn, [])

    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [worker.process for worker in self.workers]

    async def set_targets(self, changed: dict[str, list[Target]]) -> None:
        await self.revive()
        for message in targets_messages(changed):
            await self._all(*message)
        merge_targets(self.targets, changed)

    async def listen(self, spec: Listen) -> None:
        key = (spec.address, spec.port)
        if self.servers.get(key) == spec:
            return
        await self.revive()
        if key in self.servers:
            await self.stop(key)
        group = await asyncio.to_thread(bind_group, spec.address, spec.port, len(self.workers))
        message = listen_message(spec)
        try:
            for worker, sock in zip(self.workers, group, strict=True):
                await asyncio.to_thread(worker.call, *message, sock=sock)
        finally:
            for sock in group:  # each worker holds its own copy now
                sock.close()
        self.servers[key] = spec
        self.endpoints.add(spec.endpoint_id)

    async def stop(self, key: tuple[str, int]) -> None:
        if self.servers.pop(key, None) is not None:
            await self._all("S", key[0], str(key[1]))

    async def retain(self, live: set[str]) -> dict[str, int]:
        """End the connections of endpoints no longer live (named, a bounded number per
        message: the live ones may be many thousands)."""
        gone = sorted(self.endpoints - live)
        self.endpoints &= live
        answers = []
        for start in range(0, len(gone), ENDPOINTS_PER_MESSAGE):
            answers += await self._all("E", *gone[start : start + ENDPOINTS_PER_MESSAGE])
        return Stats.total([Stats(counts(answer), 0) for answer in answers]).live

    async def read_meters(self, endpoints: list[str] | None = None) -> dict[str, Meter]:
        """Every worker's meters of these endpoints (all that fit if None), summed."""
        batches = (
            [[]]
            if endpoints is None
            else [
                endpoints[i : i + ENDPOINTS_PER_MESSAGE]
                for i in range(0, len(endpoints), ENDPOINTS_PER_MESSAGE)
            ]
        )
        total: dict[str, Meter] = {}
        for batch in batches:
            for answer in await self._all("B", *batch):
                for key, _, value in (f.rpartition("=") for f in answer):
                    numbers = [int(n) for n in value.split(",")]
                    total.setdefault(key, Meter()).add(Meter(*numbers))
        return total

    async def stats(self, endpoint: str | None = None) -> Stats:
        answers = await self._all("Q", *([endpoint] if endpoint else []))
        return Stats.total([Stats(counts(answer[1:]), int(answer[0])) for answer in answers])

    async def close(self) -> None:
        workers, self.workers = self.workers, []
        for worker in workers:
            await asyncio.to_thread(worker.end)
        self.servers.clear()

    async def revive(self) -> None:
        """Start again any worker that died, and give it every target and listener."""
        for index, worker in enumerate(self.workers):
            if worker.alive():
                continue
            log.warning("data plane worker ended; starting another", pid=worker.process.pid)
            await asyncio.to_thread(worker.end)
            fresh = self.workers[index] = Worker(self.program)
            for message in targets_messages(self.targets):
                await asyncio.to_thread(fresh.call, *message)
            for spec in self.servers.values():
                sock = await asyncio.to_thread(shared_listener, spec.address, spec.port)
                try:
                    await asyncio.to_thread(fresh.call, *listen_message(spec), sock=sock)
                finally:
                    sock.close()

    async def _all(self, *message: str) -> list[list[str]]:
        return await asyncio.to_thread(lambda: [w.call(*message) for w in self.workers])
