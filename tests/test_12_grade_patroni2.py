"""Grading an older homework cluster: Patroni 2.x, as Spilo 2.x images (2021-2023) ran it.

The same seed-built cluster as test_09 (fixtures/grading/seed_cluster.py), its nodes from
``pgha/node:patroni2`` (Patroni 2.1.7 on PostgreSQL 15), and an HAProxy whose stats
page is at another path behind ``stats auth``. Patroni before 3.0 shows streaming
replicas as ``running``, calls the primary ``master`` and logs every manual request
as a failover when it steps down; what tells a failover from a switchover there is
the request its REST API logged (``received switchover request``). Asserted, read-only:

- idle (step 7 done): 10, 11 and 13 FAIL, the rest PASS;
- after the student's REST switchover, patronictl failover and max_connections
  restart: every step PASS; without the members' logs 10 and 11 UNVERIFIED.
"""

from __future__ import annotations

import pytest

from fixtures.grading import seed_cluster

pytestmark = [
    pytest.mark.order(12),
    pytest.mark.cluster,
    pytest.mark.homework("grading: an older homework cluster, Patroni 2.x (Spilo 2.x images)"),
]

STEPS = ("1-6, 9", "7-8", "10", "11", "12", "13")
STATS_URI, STATS_AUTH = "/haproxy_stats", "teacher:not-a-secret"


@pytest.fixture(scope="module")
def older_cluster(homework_clusters):
    return homework_clusters(
        "node-patroni2",
        haproxy_config=lambda hw: seed_cluster.stats_elsewhere_cfg(hw, STATS_URI, STATS_AUTH),
    )


@pytest.fixture(scope="module")
def grade(older_cluster, tmp_path_factory, progress):
    return seed_cluster.grader(
        older_cluster,
        tmp_path_factory.mktemp,
        progress,
        "--target-haproxy-stats-uri",
        STATS_URI,
        env={"PGHA_TARGET_HAPROXY_STATS_AUTH": STATS_AUTH},
    )


@pytest.fixture(scope="module")
def idle(grade):
    return grade("idle")


@pytest.fixture(scope="module")
def done(older_cluster, grade, idle):
    seed_cluster.complete_the_homework(older_cluster)
    return grade("every step done"), grade("every step done, no logs", logs=False)


def verdicts_of(run: dict) -> dict[str, str | None]:
    return {step: run["verdicts"].get(step) for step in STEPS}


def test_an_idle_older_cluster_fails_the_steps_not_done(idle, evidence):
    evidence("grading sheet", idle["report"][:5000])
    assert verdicts_of(idle) == {
        **dict.fromkeys(STEPS, "PASS"),
        "10": "FAIL",
        "11": "FAIL",
        "13": "FAIL",
    }, (idle["reasons"], idle["output"])
    assert "Patroni: 2.1.7" in idle["report"]


def test_an_older_cluster_with_every_step_done_passes_and_needs_the_logs_for_10_and_11(done):
    with_logs, without_logs = done
    assert verdicts_of(with_logs) == dict.fromkeys(STEPS, "PASS"), (
        with_logs["reasons"],
        with_logs["output"],
    )
    assert verdicts_of(without_logs) == {
        **dict.fromkeys(STEPS, "PASS"),
        "10": "UNVERIFIED",
        "11": "UNVERIFIED",
    }, without_logs["reasons"]


def test_the_stats_password_stays_out_of_the_reports(done):
    with_logs, _ = done
    assert STATS_AUTH.split(":")[1] not in with_logs["report"] + with_logs["output"]
