"""Property tests for the state machines of target health, endpoints and services."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privlink.domain import cloud as rules
from privlink.domain.errors import Conflict, InvalidInput

checks = st.builds(
    rules.HealthCheck,
    interval=st.floats(1, 30),
    timeout=st.just(0.5),
    healthy_threshold=st.integers(2, 10),
    unhealthy_threshold=st.integers(2, 10),
)


class TestTargetHealth:
    @given(checks, st.lists(st.booleans(), max_size=60))
    def test_state_follows_the_last_run_of_results(
        self, check: rules.HealthCheck, results: list[bool]
    ) -> None:
        """Healthy after `healthy_threshold` passes in a row, unhealthy after
        `unhealthy_threshold` failures in a row, otherwise unchanged."""
        health = rules.TargetHealth()
        expected = rules.TargetState.initial
        run_value, run = None, 0
        for ok in results:
            health = health.observe(ok, check)
            run = run + 1 if ok == run_value else 1
            run_value = ok
            if ok and run >= check.healthy_threshold:
                expected = rules.TargetState.healthy
            if not ok and run >= check.unhealthy_threshold:
                expected = rules.TargetState.unhealthy
            assert health.state is expected
            assert (health.reason == "") == (health.state is rules.TargetState.healthy)

    @given(checks, st.lists(st.booleans(), max_size=20))
    def test_draining_is_never_moved_by_checks(
        self, check: rules.HealthCheck, results: list[bool]
    ) -> None:
        health = rules.TargetHealth(rules.TargetState.draining)
        for ok in results:
            health = health.observe(ok, check)
        assert health.state is rules.TargetState.draining

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"interval": 0.5},
            {"timeout": 20, "interval": 10},
            {"healthy_threshold": 1},
            {"unhealthy_threshold": 11},
            {"port": 70000},
        ],
    )
    def test_bad_health_checks_are_refused(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(InvalidInput):
            rules.HealthCheck(**kwargs)  # type: ignore[arg-type]


class TestEndpointStates:
    @given(st.booleans(), st.lists(st.sampled_from(rules.ENDPOINT_EVENTS), max_size=12))
    def test_only_allowed_moves_happen(self, acceptance: bool, events: list[str]) -> None:
        """Any event sequence stays inside the state graph; refused moves change nothing."""
        state = rules.initial_endpoint_state(acceptance)
        history = [state]
        for event in events:
            try:
                state = rules.move_endpoint(state, event)
            except Conflict as error:
                assert state.value in error.message
            history.append(state)
        # Terminal states are terminal, except that a rejected or failed endpoint
        # can still be deleted by its owner.
        for before, after in itertools.pairwise(history):
            if before is rules.EndpointState.deleted:
                assert after is rules.EndpointState.deleted
            if after is rules.EndpointState.available:
                assert before in (rules.EndpointState.pending, rules.EndpointState.available)
        if not acceptance:
            assert rules.EndpointState.pending_acceptance not in history

    def test_auto_accept_starts_pending(self) -> None:
        assert rules.initial_endpoint_state(False) is rules.EndpointState.pending
        assert rules.initial_endpoint_state(True) is rules.EndpointState.pending_acceptance


class TestServiceDeletion:
    @given(st.lists(st.sampled_from(list(rules.EndpointState)), max_size=8))
    def test_refused_exactly_while_a_connection_is_live(
        self, states: list[rules.EndpointState]
    ) -> None:
        live = [s for s in states if s in rules.LIVE_CONNECTION_STATES]
        if live:
            with pytest.raises(Conflict, match="connection"):
                rules.can_delete_service(states)
        else:
            rules.can_delete_service(states)


class TestHealthBoard:
    def test_reload_keeps_the_objects_a_health_pass_is_updating(self) -> None:
        """A reload while probes are in flight must not detach the targets being probed."""
        from privlink.cloud.contract import Target, TargetGroup
        from privlink.cloud.local.health import HealthBoard

        check = rules.HealthCheck(
            interval=1, timeout=0.5, healthy_threshold=2, unhealthy_threshold=2
        )
        group = TargetGroup(
            arn="tg", name="tg", port=1, health_check=check, proxy_protocol_v2=False
        )
        board = HealthBoard()
        rows = [
            (1, Target("127.0.0.1", 1), "healthy", ""),
            (2, Target("127.0.0.1", 2), "healthy", ""),
        ]
        board.load([(group, rows)])
        in_flight = board.groups["tg"][1]  # what a running pass holds
        board.load([(group, rows)])  # a sync pass reloads meanwhile
        for _ in range(2):
            in_flight.health = in_flight.health.observe(False, check)
        board.refresh("tg")
        assert board.healthy("tg") == [Target("127.0.0.1", 2)]


class TestHealthChecker:
    def test_a_tick_probes_only_what_is_due_and_only_live_targets(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Checks come due one interval after the last; a target deregistered meanwhile is
        never probed again (the heap holds it, the board does not)."""
        from privlink.cloud.contract import Target, TargetGroup
        from privlink.cloud.local import health
        from privlink.testing import LoopThread

        probed: list[int] = []

        async def probe(host: str, port: int, limit: float) -> tuple[bool, str]:
            probed.append(port)
            return True, ""

        monkeypatch.setattr(health, "probe", probe)
        check = rules.HealthCheck(interval=5, timeout=1, healthy_threshold=2, unhealthy_threshold=2)
        group = TargetGroup(
            arn="tg", name="tg", port=1, health_check=check, proxy_protocol_v2=False
        )
        board = health.HealthBoard()
        rows = [(n, Target("127.0.0.1", n), "initial", "") for n in range(1, 101)]
        board.load([(group, rows)])
        checker = health.HealthChecker(board, lambda _id, _h: None)
        loop = LoopThread()  # not asyncio.run: a browser test may own this thread's loop
        loop.run(checker.tick())
        assert sorted(probed) == list(range(1, 101))  # all due at first
        probed.clear()
        loop.run(checker.tick())
        assert probed == []  # next ones are an interval away
        for tracked in board.groups["tg"].values():
            if tracked.target_id <= 10:
                tracked.due = 0.0  # ten come due
        board.load([(group, rows[5:])])  # and five of those are deregistered
        loop.run(checker.tick())
        loop.close()
        assert sorted(probed) == list(range(6, 11))
