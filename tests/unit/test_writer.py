"""The writer's bookkeeping and the checker's verdict, without a database."""

from datetime import UTC, datetime, timedelta

import psycopg
import psycopg.errors
import pytest

from fixtures.faults.scenarios import write_outage
from fixtures.faults.writer import ACKNOWLEDGED, FAILED, UNKNOWN, classify, longest_gap, tally


def test_a_server_error_means_the_write_failed():
    assert classify(psycopg.errors.ReadOnlySqlTransaction("read-only")) == FAILED
    assert classify(psycopg.errors.UniqueViolation("dup")) == FAILED


def test_a_lost_connection_or_shutdown_leaves_the_outcome_unknown():
    assert classify(psycopg.OperationalError("server closed the connection")) == UNKNOWN
    assert classify(psycopg.errors.AdminShutdown("terminating connection")) == UNKNOWN


def test_tally_finds_lost_unexpected_and_unknown_that_committed():
    outcomes = {1: ACKNOWLEDGED, 2: ACKNOWLEDGED, 3: UNKNOWN, 4: UNKNOWN, 5: FAILED}
    counted = tally(outcomes, present=[1, 3, 99])
    assert counted.lost == [2]
    assert counted.unexpected == [99]
    assert counted.unknown_committed == 1
    assert counted.failed_committed == []
    assert counted.as_figures() == {
        "lost": 1,
        "unexpected": 1,
        "acknowledged": 2,
        "unknown": 2,
        "unknown_committed": 1,
        "failed": 1,
        "failed_committed": 0,
    }


def test_a_write_reported_failed_but_present_is_named():
    counted = tally({1: ACKNOWLEDGED, 2: FAILED}, present=[1, 2])
    assert counted.failed_committed == [2]
    assert counted.as_figures()["failed_committed"] == 1


def test_nothing_lost_when_every_acknowledged_write_is_present():
    verdict = tally({1: ACKNOWLEDGED, 2: FAILED}, present=[1])
    assert verdict.lost == [] and verdict.unexpected == []


def test_longest_gap_is_the_outage_and_when_it_began():
    t0 = datetime(2026, 1, 1, 12, 0, 0)
    stamps = [
        t0,
        t0 + timedelta(seconds=0.1),
        t0 + timedelta(seconds=3.1),
        t0 + timedelta(seconds=3.2),
    ]
    assert longest_gap(reversed(stamps)) == (3.0, t0 + timedelta(seconds=0.1))
    assert longest_gap([t0]) == (0.0, None)


def test_the_outage_is_taken_within_the_measured_section_alone():
    """Writes after the section (a leader rejoining beside the run's other tests) never make
    the measured outage longer; ids follow time on the writer's side."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    at = {1: 0.0, 2: 0.1, 3: 2.1, 4: 2.2, 5: 9.0}  # the outage: 2 s; a stall after: 6.8 s
    rows = [(i, start + timedelta(seconds=s)) for i, s in at.items()]
    outcomes = dict.fromkeys(at, ACKNOWLEDGED)
    assert write_outage(rows, outcomes, until_id=4) == pytest.approx(2.0)
    assert write_outage(rows, outcomes) == pytest.approx(6.8)
    assert write_outage(rows, {**outcomes, 3: "failed"}, until_id=4) == pytest.approx(2.1)
