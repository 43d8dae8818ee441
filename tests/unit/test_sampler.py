"""The split-brain sampler's rounds, from answers given inside each member (no Docker)."""

import time

from fixtures.faults.scenarios import WritableSampler


class ScriptedMembers:
    """watch_in_recovery answers from a script: {member: [(tick, delay, answer), ...]}."""

    def __init__(self, script):
        self.script = script
        self.ended: list[str] = []
        self.base = round(time.time(), 1)  # a tick of the grid, the same for every member

    def watch_in_recovery(self, member, interval, seconds, stop_file):
        for tick, delay, answer in self.script[member]:
            yield round(self.base + tick, 3), self.base + tick + delay, answer

    def end_watch(self, member, stop_file):
        self.ended.append(member)


def sampled(script):
    members = sorted(script)
    sampler = WritableSampler(ScriptedMembers(script), members).start()  # type: ignore[arg-type]
    return sampler.stop()


def test_a_round_is_one_tick_in_every_member():
    sampler = sampled(
        {
            "a": [(0.0, 0.01, False), (0.2, 0.01, True)],
            "b": [(0.0, 0.02, True), (0.2, 0.02, False)],
        }
    )
    assert [sorted(sample) for _, sample in sampler.rounds] == [["a", "b"], ["a", "b"]]
    assert not sampler.split_brain_rounds()
    assert sampler.faults.ended == ["a", "b"]


def test_two_writable_members_in_one_round_are_a_split_brain():
    sampler = sampled({"a": [(0.0, 0.01, False)], "b": [(0.0, 0.01, False)]})
    assert len(sampler.split_brain_rounds()) == 1


def test_a_member_that_misses_ticks_stands_by_its_last_answer_and_widens_the_gap():
    """A member too slow to answer some ticks: its last answer stands for it, and the time
    it went unobserved is the gap."""
    sampler = sampled(
        {
            "a": [(0.0, 0.01, True), (0.2, 0.01, True), (0.4, 0.01, True), (1.0, 0.01, True)],
            "b": [(0.0, 0.01, False), (1.0, 0.01, False)],
        }
    )
    assert abs(sampler.largest_gap() - 1.0) < 0.05
    assert [sorted(sample) for _, sample in sampler.rounds] == [["a", "b"]] * 4


def test_a_writable_answer_that_stands_in_still_counts():
    """Old leader last seen writable, new leader seen writable before the old one answered
    again: suspected as two writers (never missed)."""
    sampler = sampled(
        {
            "old": [(0.0, 0.0, False), (0.6, 0.0, True)],
            "new": [(0.0, 0.0, True), (0.4, 0.0, False)],
        }
    )
    assert len(sampler.split_brain_rounds()) == 1


def test_first_writable_and_first_refusing_skip_rounds_a_member_missed():
    sampler = sampled(
        {
            "old": [(0.0, 0.0, False), (0.4, 0.0, True)],
            "new": [(0.0, 0.0, True), (0.2, 0.0, True), (0.6, 0.0, False)],
        }
    )
    start = sampler.rounds[0][1]["old"][0]
    demoted = sampler.first_not_writable("old", after=start + 0.1)
    promoted = sampler.first_writable("new", after=start)
    assert demoted is not None and promoted is not None
    assert round(demoted - start, 2) == 0.4 and round(promoted - start, 2) == 0.6


def test_a_failing_watch_is_reported_by_stop():
    class Broken(ScriptedMembers):
        def watch_in_recovery(self, member, interval, seconds, stop_file):
            raise OSError("exec failed")
            yield

    sampler = WritableSampler(Broken({}), ["a"]).start()  # type: ignore[arg-type]
    try:
        sampler.stop()
    except RuntimeError as exc:
        assert "exec failed" in str(exc)
    else:
        raise AssertionError("stop() did not report the failed watch")
