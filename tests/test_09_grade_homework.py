"""Grading homework clusters as students build them (../shared/seed/), at every stage.

One cluster built with fixtures/grading/seed_cluster.py as the seed builds it (etcd v2,
three Spilo-style nodes told only ``ETCD_HOST``, member names container ids, the
seed's haproxy.cfg) goes through a student's progress, and a teacher's pytest
grades it at each stage through 127.0.0.1-published ports only. Each stage asserts
the exact verdict of every step it grades, so a grader that passes what was not
done fails here (negative controls):

- idle (step 7 done, nothing after): 10, 11 and 13 FAIL, the rest PASS;
- a replica's replay paused: 7-8 FAIL;
- the suite's own failover and switchovers (an --allow-changes run): still 10 and
  11 FAIL, the suite's promotions never count;
- the student's REST switchover only: 10 FAIL, 11 PASS;
- the student's patronictl failover too: 10 and 11 PASS, and UNVERIFIED both
  without the members' logs (nothing else tells their kinds apart);
- max_connections edited but not restarted: 13 FAIL;
- restarted: every step PASS, and the read-only run wrote nothing.

A complete cluster broken or acted on is test_14's, on a cluster of its own (the two
modules run side by side).

Everything started here is removed at the end, whatever happens.
"""

from __future__ import annotations

import re

import pytest

from fixtures.grading import seed_cluster
from fixtures.grading.seed_cluster import ALL_PASS, STUDENT_ROWS, assert_verdicts, snapshot

FAILOVER_MODULES = ("tests/test_03_failover.py", "tests/test_04_switchover.py")

pytestmark = [
    pytest.mark.order(9),
    pytest.mark.cluster,
    pytest.mark.homework(
        "grading: a homework cluster built as in the seed, graded at every stage of a "
        "student's progress"
    ),
]


# ----------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def homework_cluster(homework_clusters):
    """Built as the seed builds it, HAProxy running from the start, step 7 done."""
    return homework_clusters()


@pytest.fixture(scope="module")
def runs(homework_cluster, tmp_path_factory, progress):
    """Grading runs by stage, in the order of the student's progress (each fixture below
    takes the one before it, so the stages happen in order whatever test asks first), with
    a ledger of the suite's own promotions for this module's runs only."""
    ledger = str(tmp_path_factory.mktemp("ledger") / "promotions.json")
    return seed_cluster.grader(
        homework_cluster, tmp_path_factory.mktemp, progress, env={"PGHA_LEDGER": ledger}
    )


@pytest.fixture(scope="module")
def idle(runs):
    return runs("idle")


@pytest.fixture(scope="module")
def replay_paused(homework_cluster, runs, idle):
    hw = homework_cluster
    replica = seed_cluster.a_replica(hw)
    # Patroni 4 resumes a paused replay (PostgreSQL 14+) at its next loop unless the cluster
    # is in maintenance mode: a student's replay stays paused only there.
    seed_cluster.maintenance(hw, True)
    try:
        hw.exec(replica, "psql", "-U", "postgres", "-c", "SELECT pg_wal_replay_pause()")
        return runs("replay paused", modules=["tests/test_02_replication.py"])
    finally:
        hw.exec(replica, "psql", "-U", "postgres", "-c", "SELECT pg_wal_replay_resume()")
        seed_cluster.maintenance(hw, False)


@pytest.fixture(scope="module")
def suite_acted(homework_cluster, runs, replay_paused):
    """An --allow-changes run of the failover and switchover steps, then read-only."""
    acting = runs(
        "the suite fails over and switches over", "--allow-changes", modules=FAILOVER_MODULES
    )
    homework_cluster.wait_settled()
    return acting, runs("after the suite's own promotions", modules=FAILOVER_MODULES)


@pytest.fixture(scope="module")
def switchover_only(homework_cluster, runs, suite_acted):
    hw = homework_cluster
    seed_cluster.switchover_over_rest(hw, seed_cluster.a_replica(hw))
    return runs("the student's switchover only", modules=FAILOVER_MODULES)


@pytest.fixture(scope="module")
def failover_too(homework_cluster, runs, switchover_only):
    hw = homework_cluster
    seed_cluster.failover_with_patronictl(hw, seed_cluster.a_replica(hw))
    with_logs = runs("the student's failover too", modules=FAILOVER_MODULES)
    without_logs = runs("the same, without the members' logs", modules=FAILOVER_MODULES, logs=False)
    return with_logs, without_logs


@pytest.fixture(scope="module")
def edited(homework_cluster, runs, failover_too):
    seed_cluster.edit_max_connections(homework_cluster)
    return runs("max_connections edited, not restarted", modules=["tests/test_05_restart.py"])


@pytest.fixture(scope="module")
def as_found(homework_cluster, edited):
    """The student's work complete (restarted); what a grader must not change."""
    seed_cluster.restart_members(homework_cluster)
    seed_cluster.wait_routed(homework_cluster)
    return snapshot(homework_cluster)


@pytest.fixture(scope="module")
def read_only_run(homework_cluster, runs, as_found):
    run = runs("complete, read-only")
    return {**run, "after": snapshot(homework_cluster)}


# -------------------------------------------------------------------------- tests
def test_idle_cluster_fails_the_steps_not_done(idle, evidence):
    """Step 7 done and nothing after: no failover, no switchover, no configuration change."""
    evidence("grading sheet", idle["report"][:5000])
    assert_verdicts(idle, {**ALL_PASS, "10": "FAIL", "11": "FAIL", "13": "FAIL"})


def test_a_paused_replay_fails_step_8(replay_paused):
    assert_verdicts(replay_paused, {"7-8": "FAIL"})
    assert any("paused" in reason for reason in replay_paused["reasons"].values())


def test_the_suites_own_promotions_never_count_for_the_student(suite_acted):
    """The suite's failover and switchovers all succeed, yet neither in that run nor in a
    later one do they pass steps 10 and 11 for a student who did neither."""
    acting, after = suite_acted
    performed = {
        name: t["outcome"]
        for name, t in acting["tests"].items()
        if t["properties"].get("work") == "suite"
    }
    assert performed and set(performed.values()) == {"passed"}, (performed, acting["output"])
    assert_verdicts(acting, {"10": "FAIL", "11": "FAIL"})
    assert_verdicts(after, {"10": "FAIL", "11": "FAIL"})
    assert any("suite" in reason for reason in after["reasons"].values()), after["reasons"]


def test_a_switchover_alone_passes_step_11_only(switchover_only):
    assert_verdicts(switchover_only, {"10": "FAIL", "11": "PASS"})


def test_a_failover_and_a_switchover_pass_10_and_11_and_need_the_logs(failover_too):
    with_logs, without_logs = failover_too
    assert_verdicts(with_logs, {"10": "PASS", "11": "PASS"})
    assert_verdicts(without_logs, {"10": "UNVERIFIED", "11": "UNVERIFIED"})
    assert without_logs["exit"] == 0, "UNVERIFIED is not a failure without --require-pass"


def test_a_configuration_edited_but_not_restarted_fails_step_13(edited):
    assert_verdicts(edited, {"13": "FAIL"})
    assert any("patronictl restart" in reason for reason in edited["reasons"].values())


def test_read_only_grading_passes_every_homework_step(read_only_run, record_property, evidence):
    """Complete: every homework step PASS, nothing failed."""
    run = read_only_run
    evidence("grading sheet (read-only run)", run["report"][:6000])
    record_property("grading_seconds_read_only", run["seconds"])
    assert run["tests"], f"the grading run produced no report:\n{run['output']}"
    failed = sorted(t for t, r in run["tests"].items() if r["outcome"] == "failed")
    assert not failed, f"failed when grading read-only: {failed}\n{run['output']}"
    assert_verdicts(run, ALL_PASS)
    assert run["exit"] == 0, run["output"]


def test_read_only_grading_shows_the_students_rows_and_haproxy_servers(read_only_run):
    """Steps 7-8 show the student's own rows, step 12 the seed's sections and what they check."""
    props = {
        name: value
        for test in read_only_run["tests"].values()
        for name, value in test["properties"].items()
    }
    rows = next((v for k, v in props.items() if k.startswith("evidence: replicatest.words")), "")
    assert all(word.strip() in (rows or "") for word in STUDENT_ROWS), rows
    sections = props.get("evidence: HAProxy sections (read-write, read-only)", "") or ""
    # Which servers are UP is what routes clients; a check still in flight on a loaded
    # machine shows as code 0 beside the answers ("check answered 0/503") and is no fault.
    assert re.search(
        r"batman: HTTP health check; 1 UP \(check answered [^)]*\b200\b[^)]*\), 2 DOWN", sections
    ), sections
    assert re.search(
        r"batman2: HTTP health check; 2 UP \(check answered [^)]*\b503\b[^)]*\), 1 DOWN", sections
    ), sections


def test_read_only_grading_writes_nothing(as_found, read_only_run):
    """No database, table or row appeared or changed on any member; the leader counted no
    insert, update or delete; leader and configuration unchanged."""
    after = read_only_run["after"]
    for member, seen in as_found["members"].items():
        for key, value in seen.items():
            assert after["members"][member].get(key) == value, (
                f"{member}: {key} changed\nbefore: {value}\n"
                f"after: {after['members'][member].get(key)}"
            )
    assert (after["leader"], after["config"]) == (as_found["leader"], as_found["config"])
