"""The work queue itself (`reconcile.queue`): due order, leases, backoff, permanence.

Steps here are plain functions (no cloud): a fake that records what it was asked and
raises what a test wants. Rows are project VPCs, the simplest queued object.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from privlink.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PrivlinkError,
    Unavailable,
)
from privlink.domain.roles import Role
from privlink.reconcile import queue
from privlink.services import tenancy
from privlink.store.base import as_utc, utcnow
from privlink.store.db import make_sessionmaker
from privlink.store.tables import ProjectVpc

RESYNC, BACKOFF = 30.0, 0.5
OTHER = "another-host:1234:abcdef12"  # a lease owner that is another host's process


class FakeStep:
    """Records the objects stepped; raises `errors[id]` for an object if set."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.errors: dict[str, Exception] = {}
        self.requeue: float | None = None
        self.during: Callable[[str], None] = lambda obj_id: None

    def __call__(self, obj_id: str) -> float | None:
        self.seen.append(obj_id)
        self.during(obj_id)
        if obj_id in self.errors:
            raise self.errors[obj_id]
        return self.requeue


def _fail(_s: Session, row: ProjectVpc, reason: str) -> None:
    row.state, row.reason = "FAILED", reason


@pytest.fixture
def sessions(migrated: Engine) -> sessionmaker[Session]:
    factory = make_sessionmaker(migrated)
    with factory() as s, s.begin():
        tenancy.create_project(s, name="alpha")
    return factory


@pytest.fixture
def step() -> FakeStep:
    return FakeStep()


@pytest.fixture
def kind(step: FakeStep) -> queue.Kind:
    return queue.Kind(
        name="test",
        model=ProjectVpc,
        step=step,
        fail=_fail,
        resync=RESYNC,
        backoff=BACKOFF,
        only=ProjectVpc.state.in_(["APPROVED", "DELETING"]),
    )


def add(
    sessions: sessionmaker[Session], *, due_in: float | None = 0.0, state: str = "APPROVED"
) -> str:
    vpc_id = str(uuid.uuid4())
    with sessions() as s, s.begin():
        project = tenancy.get_project(
            s,
            caller=tenancy.Caller(token_id="test", role=Role.OPERATOR, project=None),
            name="alpha",
        )
        s.add(
            ProjectVpc(
                id=vpc_id,
                project_id=project.id,
                cloud_name=f"aws-{vpc_id[:8]}",
                network_cidr="10.0.0.0/24",
                state=state,
                next_attempt_at=None if due_in is None else utcnow() + timedelta(seconds=due_in),
                reconciled_at=None if due_in is not None else utcnow(),
                resync_at=None if due_in is not None else utcnow() + timedelta(seconds=RESYNC),
            )
        )
    return vpc_id


def edit(sessions: sessionmaker[Session], vpc_id: str, **values: object) -> None:
    """Set columns of one queued row, in a transaction of its own (as another process:
    not fenced by a step this process runs)."""
    with sessions() as s, s.begin():
        s.info["unfenced"] = True
        vpc = s.get(ProjectVpc, vpc_id)
        assert vpc is not None
        for name, value in values.items():
            setattr(vpc, name, value)


def row(sessions: sessionmaker[Session], vpc_id: str) -> ProjectVpc:
    with sessions() as s:
        found = s.get(ProjectVpc, vpc_id)
        assert found is not None
        s.expunge(found)
        return found


class TestDue:
    def test_asked_for_steps_come_oldest_first_then_resyncs(
        self, sessions: sessionmaker[Session], kind: queue.Kind
    ) -> None:
        """Objects asked for (next_attempt_at) are due oldest wish first, before resyncs."""
        newer = add(sessions, due_in=-1)
        older = add(sessions, due_in=-5)
        stale = add(sessions, due_in=None)
        edit(sessions, stale, resync_at=utcnow() - timedelta(seconds=1))
        assert kind.due(sessions) == [older, newer, stale]
        assert kind.due(sessions, limit=2) == [older, newer]

    def test_a_step_sets_the_next_resync_a_jittered_interval_later(
        self, sessions: sessionmaker[Session], kind: queue.Kind
    ) -> None:
        """Each object its own time in [0.5, 1] x the interval: resyncs spread out."""
        objects = [add(sessions) for _ in range(20)]
        for obj in objects:
            before = utcnow()
            kind.run(sessions, obj)
            seen = row(sessions, obj)
            assert seen.next_attempt_at is None
            gap = (as_utc(seen.resync_at) - before).total_seconds()
            assert RESYNC * 0.5 - 1 <= gap <= RESYNC + 1
        times = {row(sessions, obj).resync_at for obj in objects}
        assert len(times) == len(objects)
        assert kind.due(sessions) == []

    def test_not_yet_due_recently_seen_and_out_of_scope_are_left(
        self, sessions: sessionmaker[Session], kind: queue.Kind
    ) -> None:
        add(sessions, due_in=60)  # a retry later
        add(sessions, due_in=None)  # looked at just now
        add(sessions, due_in=0, state="ACTIVE")  # nothing to do (`only`)
        assert kind.due(sessions) == []

    def test_failed_and_leased_objects_do_not_make_the_runner_spin(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A failed object's old resync time and an object another process holds are not
        work now: the next due time is in the future (the lease's end), never the past."""
        plain = queue.Kind(
            name="test",
            model=ProjectVpc,
            step=FakeStep(),
            fail=_fail,
            resync=RESYNC,
            backoff=BACKOFF,
        )
        failed = add(sessions, due_in=None, state="failed")
        edit(sessions, failed, resync_at=utcnow() - timedelta(seconds=60))
        assert plain.next_due(sessions) is None
        held = add(sessions, due_in=-5)
        until = utcnow() + timedelta(seconds=30)
        edit(sessions, held, lease_owner=OTHER, lease_until=until)
        assert plain.due(sessions) == []
        soonest = plain.next_due(sessions)
        assert soonest is not None
        assert soonest > utcnow() + timedelta(seconds=20)

    def test_next_due_is_the_soonest_wish(
        self, sessions: sessionmaker[Session], kind: queue.Kind
    ) -> None:
        add(sessions, due_in=50)
        soon = add(sessions, due_in=10)
        expected = as_utc(row(sessions, soon).next_attempt_at)
        assert kind.next_due(sessions) == expected


class TestLeases:
    def test_a_live_lease_of_another_process_keeps_the_object(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        """Held by another host's process until its lease ends: not due, never stepped."""
        obj = add(sessions)
        edit(sessions, obj, lease_owner=OTHER, lease_until=utcnow() + timedelta(seconds=60))
        assert kind.due(sessions) == []
        kind.run(sessions, obj)
        assert step.seen == []

    def test_an_expired_lease_is_taken_over(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        obj = add(sessions)
        edit(sessions, obj, lease_owner=OTHER, lease_until=utcnow() - timedelta(seconds=1))
        assert kind.due(sessions) == [obj]
        kind.run(sessions, obj)
        assert step.seen == [obj]
        assert row(sessions, obj).lease_owner is None

    def test_a_dead_process_of_this_host_loses_its_lease_at_once(self) -> None:
        """A lease held by a PID of this host that no longer exists is free (SIGKILL)."""
        host = queue.OWNER.partition(":")[0]
        now = utcnow()
        later = now + timedelta(seconds=60)
        dead = max(2**22, os.getpid() + 10_000_000)  # above any pid_max: never alive
        assert queue.lease_free(f"{host}:{dead}:x", later, now)
        assert not queue.lease_free(f"{host}:{os.getppid()}:x", later, now)
        assert not queue.lease_free(queue.OWNER, later, now)

    def test_the_lease_is_held_during_the_step(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        obj = add(sessions)
        held: list[str | None] = []
        step.during = lambda obj_id: held.append(row(sessions, obj_id).lease_owner)
        kind.run(sessions, obj)
        assert held == [queue.OWNER]

    def test_a_running_step_renews_its_lease(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        obj = add(sessions)
        seen: list[bool] = []

        def during(obj_id: str) -> None:
            edit(sessions, obj_id, lease_until=utcnow() + timedelta(seconds=1))
            seen.append(queue.renew(sessions, ProjectVpc, obj_id))
            left = as_utc(row(sessions, obj_id).lease_until) - utcnow()
            seen.append(left > queue.LEASE - timedelta(seconds=5))

        step.during = during
        kind.run(sessions, obj)
        assert seen == [True, True]
        assert not queue.renew(sessions, ProjectVpc, obj)  # released: nothing to renew

    def test_a_step_that_lost_its_lease_commits_nothing(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        """Paused past its lease while another replica took the object over: the step's
        writes are refused (fenced), and its outcome does not touch the new holder's row."""
        obj = add(sessions)
        wrote: list[str] = []

        def during(obj_id: str) -> None:
            edit(sessions, obj_id, lease_owner=OTHER, lease_until=utcnow() + timedelta(seconds=60))
            try:
                with sessions() as s, s.begin():
                    vpc = s.get(ProjectVpc, obj_id)
                    assert vpc is not None
                    vpc.state = "ACTIVE"  # the stale step's move
                wrote.append("committed")
            except queue.LeaseLost:
                wrote.append("fenced")

        step.during = during
        kind.run(sessions, obj)
        assert wrote == ["fenced"]
        after = row(sessions, obj)
        assert (after.state, after.lease_owner, after.attempts) == ("APPROVED", OTHER, 0)

    def test_a_step_whose_object_another_process_removed_commits_nothing(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        """Paused while another replica deleted the object: what the stale step would
        make now (here: another object's row) would be left behind, so it is refused;
        its reads still go through."""
        obj = add(sessions)
        outcome: list[str] = []

        def during(obj_id: str) -> None:
            with sessions() as s, s.begin():
                s.info["unfenced"] = True
                gone = s.get(ProjectVpc, obj_id)
                assert gone is not None
                s.delete(gone)
            with sessions() as s, s.begin():  # a read: nothing to fence
                outcome.append(f"read {s.get(ProjectVpc, obj_id)}")
            try:
                with sessions() as s, s.begin():
                    s.add(stray := ProjectVpc(**_copy_of(row(sessions, other))))
                outcome.append(f"committed {stray.id}")
            except queue.LeaseLost as lost:
                outcome.append("fenced" if "removed meanwhile" in str(lost) else str(lost))

        other = add(sessions, due_in=None)
        step.during = during
        kind.run(sessions, obj)
        assert outcome == ["read None", "fenced"]
        with sessions() as s:
            assert [v.id for v in s.scalars(select(ProjectVpc))] == [other]


def _copy_of(vpc: ProjectVpc) -> dict[str, object]:
    columns = ProjectVpc.__table__.columns.keys()
    values = {c: getattr(vpc, c) for c in columns}
    return {**values, "id": str(uuid.uuid4()), "network_cidr": "10.99.0.0/24"}


class TestOutcomes:
    def test_success_clears_the_wish_and_records_the_time(
        self, sessions: sessionmaker[Session], kind: queue.Kind
    ) -> None:
        obj = add(sessions)
        kind.run(sessions, obj)
        done = row(sessions, obj)
        assert done.next_attempt_at is None
        assert done.attempts == 0
        assert done.reconciled_at is not None

    def test_a_requeue_asks_for_the_next_step(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        obj = add(sessions)
        step.requeue = 5.0
        before = utcnow()
        kind.run(sessions, obj)
        wish = as_utc(row(sessions, obj).next_attempt_at)
        assert wish is not None
        assert before + timedelta(seconds=5) <= wish <= utcnow() + timedelta(seconds=5)

    def test_a_wake_during_the_step_is_kept(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        """Asked for again while the step ran (e.g. a customer accepted): that wish stays."""
        obj = add(sessions)

        step.during = lambda obj_id: edit(sessions, obj_id, next_attempt_at=utcnow())
        kind.run(sessions, obj)
        assert row(sessions, obj).next_attempt_at is not None
        assert kind.due(sessions) == [obj]

    @pytest.mark.parametrize(
        "error",
        [
            Unavailable("the cloud is busy"),
            Conflict("IncorrectState: try again", temporary=True),
            RuntimeError("a bug or a dropped connection"),
        ],
    )
    def test_temporary_errors_back_off_and_keep_the_state(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep, error: Exception
    ) -> None:
        obj = add(sessions)
        step.errors[obj] = error
        before = utcnow()
        kind.run(sessions, obj)
        after = row(sessions, obj)
        assert after.state == "APPROVED"
        assert after.attempts == 1
        assert after.reason.startswith("retrying after: ")
        assert after.lease_owner is None
        wish = as_utc(after.next_attempt_at)
        assert wish is not None
        # attempt 1: backoff * 2, jittered down to half
        assert before + timedelta(seconds=BACKOFF) <= wish <= utcnow() + timedelta(seconds=1)

    @pytest.mark.parametrize(
        "error", [InvalidInput("no such region"), Conflict("a permanent refusal")]
    )
    def test_permanent_errors_fail_the_object_and_stop_retrying(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep, error: Exception
    ) -> None:
        obj = add(sessions)
        step.errors[obj] = error
        kind.run(sessions, obj)
        after = row(sessions, obj)
        assert after.state == "FAILED"
        assert after.reason == str(error)
        assert after.next_attempt_at is None

    def test_a_delete_is_retried_even_after_a_permanent_error(
        self, sessions: sessionmaker[Session], kind: queue.Kind, step: FakeStep
    ) -> None:
        """A delete must finish: a refusal is retried rather than leaving resources."""
        obj = add(sessions)
        edit(sessions, obj, state=queue.DELETING)  # the queue's word for it
        step.errors[obj] = InvalidInput("refused")
        kind.run(sessions, obj)
        assert row(sessions, obj).state == queue.DELETING
        assert row(sessions, obj).next_attempt_at is not None


@settings(max_examples=200, deadline=None)
@given(
    attempts=st.integers(min_value=1, max_value=60),
    backoff=st.floats(min_value=0.01, max_value=5.0),
    resync=st.floats(min_value=5.0, max_value=3600.0),
    jitter=st.floats(min_value=0.5, max_value=1.0),
)
def test_retry_delay_doubles_within_bounds(
    attempts: int, backoff: float, resync: float, jitter: float
) -> None:
    """Never sooner than the backoff, never later than the resync interval or the
    longest backoff, and never shorter than the delay after fewer failures."""
    delay = queue.retry_delay(attempts, backoff=backoff, resync=resync, jitter=jitter)
    fewer = queue.retry_delay(attempts - 1, backoff=backoff, resync=resync, jitter=jitter)
    cap = min(resync, queue.MAX_BACKOFF)
    assert delay >= min(backoff, cap * jitter) * (1 - 1e-9)
    assert delay <= cap
    assert fewer <= delay


@given(
    cls=st.sampled_from([InvalidInput, Conflict, NotFound, Forbidden, Unavailable]),
    flag=st.booleans() | st.none(),
)
def test_an_error_is_temporary_exactly_when_it_says_so(
    cls: type[PrivlinkError], flag: bool | None
) -> None:
    """Explicit flags win; by default only Unavailable is temporary."""
    error = cls("x", temporary=flag)
    assert error.temporary is (flag if flag is not None else cls is Unavailable)
