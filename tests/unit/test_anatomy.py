"""The writes around a fault, for the outage anatomy (no Docker needed)."""

from datetime import UTC, datetime

from fixtures.faults.anatomy import outage_bounds


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(1_000_000 + seconds, tz=UTC)


def test_the_last_write_before_and_the_first_after_the_fault():
    writes = [at(s) for s in (-0.5, -0.02, 2.31, 2.4, 3.0)]
    last, first = outage_bounds(writes, fault_at=1_000_000)
    assert last is not None and first is not None
    assert (round(last, 3), round(first, 3)) == (-0.02, 2.31)


def test_no_write_after_the_fault_is_none():
    last, first = outage_bounds([at(-1.0)], fault_at=1_000_000)
    assert last is not None and round(last, 2) == -1.0 and first is None


def test_writes_in_flight_at_the_fault_do_not_end_the_outage():
    writes = [at(s) for s in (-0.5, -0.01, 0.004, 0.02, 22.1, 22.2)]
    last, first = outage_bounds(writes, fault_at=1_000_000)
    assert last is not None and first is not None
    assert (round(last, 3), round(first, 3)) == (0.02, 22.1)
