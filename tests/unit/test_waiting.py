"""Waits name their condition and, on timeout, say what was seen."""

import pytest

from fixtures.run.waiting import WaitTimeout, wait_until


def test_returns_what_the_probe_saw_when_the_condition_holds():
    calls = []

    def probe():
        calls.append(1)
        return len(calls) >= 3, f"attempt {len(calls)}"

    assert wait_until("three attempts", probe, timeout=5, interval=0.01) == "attempt 3"


def test_timeout_names_the_condition_last_observation_and_diagnostics():
    with pytest.raises(WaitTimeout) as failure:
        wait_until(
            "the moon to turn blue",
            lambda: (False, "still grey"),
            timeout=0.2,
            interval=0.05,
            diagnostics=lambda: "patronictl list: (table)",
        )
    message = str(failure.value)
    assert "the moon to turn blue" in message
    assert "last seen: still grey" in message
    assert "patronictl list: (table)" in message


def test_no_time_at_all_asks_once_and_says_so():
    calls = []

    def probe():
        calls.append(1)
        return False, "one replica"

    with pytest.raises(WaitTimeout) as failure:
        wait_until("two replicas", probe, timeout=0, interval=0.01)
    assert calls == [1]
    assert str(failure.value).startswith("not so when asked (asked once): two replicas")


def test_a_probe_that_raises_counts_as_not_yet_and_is_reported():
    def probe():
        raise ConnectionRefusedError("port 8008")

    with pytest.raises(WaitTimeout, match="ConnectionRefusedError: port 8008"):
        wait_until("REST to answer", probe, timeout=0.2, interval=0.05)


def test_broken_diagnostics_do_not_hide_the_timeout():
    def diagnostics():
        raise RuntimeError("docker went away")

    with pytest.raises(WaitTimeout, match="(?s)waiting for x.*diagnostics failed"):
        wait_until("x", lambda: (False, None), timeout=0.1, interval=0.05, diagnostics=diagnostics)


def test_a_probe_can_give_up_at_once():
    from fixtures.run.waiting import GiveUp

    calls = []

    def probe():
        calls.append(1)
        raise GiveUp("node2 exited with code 1")

    with pytest.raises(WaitTimeout, match="gave up waiting for a leader: node2 exited"):
        wait_until("a leader", probe, timeout=30, interval=0.05)
    assert len(calls) == 1


def test_a_probe_asking_for_the_impossible_is_not_retried():
    calls = []

    def probe():
        calls.append(1)
        raise NotImplementedError("no HAProxy given")

    with pytest.raises(NotImplementedError, match="no HAProxy given"):
        wait_until("HAProxy", probe, timeout=30, interval=0.05)
    assert len(calls) == 1


class FakeClock:
    """time as fixtures.run.waiting sees it: sleeping advances it, nothing else does (a
    loaded machine cannot make a watch shorter than its observations)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_holds_for_passes_when_the_condition_never_breaks(monkeypatch):
    from fixtures.run import waiting

    monkeypatch.setattr(waiting, "time", FakeClock())
    assert waiting.holds_for("always", lambda: (True, "fine"), seconds=0.05, interval=0.01) >= 4


def test_holds_for_names_the_condition_the_moment_and_what_was_seen():
    import pytest

    from fixtures.run.waiting import holds_for

    answers = iter([(True, "t"), (True, "t"), (False, "pg_is_in_recovery() on node3: False")])
    with pytest.raises(
        AssertionError,
        match=r"node3 staying a replica stopped holding .*"
        r"seen: pg_is_in_recovery\(\) on node3: False",
    ):
        holds_for("node3 staying a replica", lambda: next(answers), seconds=5, interval=0.01)
