"""Verdicts on the student's work: what passes, what fails, what cannot be told."""

from datetime import UTC, datetime
from typing import Any

import pytest

from fixtures.cluster.haproxy_stats import Server
from fixtures.grading.verdicts import (
    EITHER,
    FAIL,
    LEADER_LOST,
    MANUAL_FAILOVER,
    PASS,
    SWITCHOVER,
    UNKNOWN,
    UNVERIFIED,
    Grade,
    classify_promotions,
    grade_haproxy_routing,
    grade_promotion_kind,
    grade_restart_change,
    parse_member_log,
    replay_problems,
    same_setting,
    step_verdict,
    unreachable_servers,
)


def test_a_step_passes_only_when_every_test_passed():
    assert step_verdict([PASS, PASS]) == PASS
    assert step_verdict([PASS, UNVERIFIED]) == UNVERIFIED
    assert step_verdict([PASS, UNVERIFIED, FAIL]) == FAIL
    assert step_verdict([]) == UNVERIFIED  # no test of the student's work: never PASS


def test_an_unknown_verdict_is_refused():
    with pytest.raises(ValueError):
        Grade("SKIP", "")


@pytest.mark.parametrize(
    ("configured", "running", "same"),
    [(150, "150", True), ("32MB", "32MB", True), ("1GB", "1024MB", True), (True, "on", True)],
)
def test_settings_compare_as_postgres_shows_them(configured, running, same):
    assert same_setting(configured, running) is same


def test_settings_that_differ_are_told_apart():
    assert not same_setting(150, "100")


# ---------------------------------------------------------------- step 13
BOOT = {"max_connections": 100, "wal_level": "hot_standby"}
CONTEXTS = {"max_connections": "postmaster", "wal_level": "postmaster", "work_mem": "user"}


def restart_grade(**kw):
    args: dict[str, Any] = {
        "configured": {"max_connections": 150, "wal_level": "hot_standby"},
        "bootstrapped": BOOT,
        "contexts": CONTEXTS,
        "running": {"a": {"max_connections": "150"}, "b": {"max_connections": "150"}},
        "pending": {"a": False, "b": False},
        "config_rewritten": True,
    }
    args.update(kw)
    return grade_restart_change(**args)


def test_step13_passes_for_a_changed_and_applied_restart_parameter():
    grade = restart_grade()
    assert grade.verdict == PASS, grade
    assert "max_connections 100 -> 150" in grade.reason


def test_step13_fails_on_an_untouched_cluster():
    """Spilo writes max_connections into the bootstrap /config: its presence proves nothing."""
    grade = restart_grade(configured=dict(BOOT), running={"a": {}}, config_rewritten=None)
    assert grade.verdict == FAIL
    assert "no parameter that needs a restart" in grade.reason


def test_step13_fails_when_etcd_shows_the_config_never_written_again():
    assert restart_grade(config_rewritten=False).verdict == FAIL


def test_step13_fails_for_a_reload_only_change():
    grade = restart_grade(configured={**BOOT, "work_mem": "8MB"})
    assert grade.verdict == FAIL
    assert "work_mem" in grade.reason


def test_step13_fails_when_edited_but_not_restarted():
    grade = restart_grade(
        running={"a": {"max_connections": "100"}}, pending={"a": True, "b": False}
    )
    assert grade.verdict == FAIL
    assert "patronictl restart" in grade.reason and "a" in grade.reason


def test_step13_fails_when_a_member_runs_another_value_with_nothing_pending():
    grade = restart_grade(running={"a": {"max_connections": "150"}, "b": {"max_connections": "99"}})
    assert grade.verdict == FAIL


def test_step13_cannot_tell_without_the_bootstrap_configuration():
    assert restart_grade(bootstrapped=None).verdict == UNVERIFIED


def test_step13_cannot_tell_for_a_member_that_does_not_answer():
    assert restart_grade(unreachable=["c"]).verdict == UNVERIFIED


# ------------------------------------------------------------ steps 10, 11
LOG_A = """2026-11-30 10:00:00,001 INFO: no action. I am (a), the leader with the lock
2026-11-30 10:05:00,100 INFO: switchover: demoting myself
2026-11-30 10:05:10,000 INFO: no action. I am (a), a secondary, and following a leader (b)
"""
LOG_B = """2026-11-30 09:59:58,000 INFO: Lock owner: a; I am b
2026-11-30 10:10:00,000 INFO: manual failover: demoting myself
"""
HISTORY = [
    [1, 100, "no recovery target specified", "2026-11-30T10:05:05+00:00", "b"],
    [2, 200, "no recovery target specified", "2026-11-30T10:10:04.5+00:00", "a"],
    [3, 300, "no recovery target specified", "2026-11-30T11:00:00+00:00", "b"],
]


def logs():
    return [parse_member_log("a", LOG_A), parse_member_log("b", LOG_B)]


def test_a_log_gives_when_it_starts_and_each_request_stepped_down_for():
    parsed = parse_member_log("a", LOG_A)
    assert parsed.starts == datetime(2026, 11, 30, 10, 0, 0, 1000, tzinfo=UTC)
    assert [e.kind for e in parsed.events] == [SWITCHOVER]


def test_docker_logs_timestamps_are_skipped():
    parsed = parse_member_log("a", "2026-11-30T10:05:00.1Z " + LOG_A.splitlines()[1])
    assert parsed.events[0].at == datetime(2026, 11, 30, 10, 5, 0, 100000, tzinfo=UTC)


def test_each_promotion_gets_the_kind_its_old_leader_logged():
    kinds = [p.kind for p in classify_promotions(HISTORY, logs(), "4.1.5")]
    assert kinds == [SWITCHOVER, MANUAL_FAILOVER, LEADER_LOST]


def test_without_logs_no_kind_is_known():
    assert {p.kind for p in classify_promotions(HISTORY, None, "4.1.5")} == {UNKNOWN}


def test_a_log_starting_after_a_promotion_does_not_claim_the_leader_was_lost():
    late = parse_member_log("c", "2026-11-30 10:30:00,000 INFO: started\n")
    kinds = [p.kind for p in classify_promotions(HISTORY, [*logs(), late], "4.1.5")]
    assert kinds == [SWITCHOVER, MANUAL_FAILOVER, LEADER_LOST]
    early_only = [p.kind for p in classify_promotions(HISTORY[:1], [late], "4.1.5")]
    assert early_only == [UNKNOWN]


def test_patroni_before_3_logs_a_switchover_as_a_manual_failover():
    kinds = [p.kind for p in classify_promotions(HISTORY[:2], logs(), "2.1.7")]
    assert kinds == [EITHER, EITHER]


def test_patroni_before_3_is_told_by_the_request_its_rest_api_logged():
    old_a = parse_member_log(
        "a",
        "2026-11-30 10:00:00,001 INFO: Lock owner: a; I am a\n"
        "2026-11-30 10:04:59,000 INFO: received switchover request with leader=a "
        "candidate=b scheduled_at=None\n"
        "2026-11-30 10:05:00,100 INFO: manual failover: demoting myself\n",
    )
    old_b = parse_member_log(
        "b",
        "2026-11-30 09:59:58,000 INFO: Lock owner: a; I am b\n"
        "2026-11-30 10:09:59,000 INFO: received failover request with leader=b "
        "candidate=a scheduled_at=None\n"
        "2026-11-30 10:10:00,000 INFO: manual failover: demoting myself\n",
    )
    kinds = [p.kind for p in classify_promotions(HISTORY[:2], [old_a, old_b], "2.1.7")]
    assert kinds == [SWITCHOVER, MANUAL_FAILOVER]


def test_steps_10_and_11_pass_on_their_own_kind_only():
    promotions = classify_promotions(HISTORY[:1], logs(), "4.1.5")  # a switchover only
    assert grade_promotion_kind(promotions, SWITCHOVER, "", True).verdict == PASS
    failover = grade_promotion_kind(promotions, MANUAL_FAILOVER, "run patronictl failover", True)
    assert failover.verdict == FAIL
    assert "run patronictl failover" in failover.reason


def test_no_promotion_fails_both_steps():
    assert grade_promotion_kind([], MANUAL_FAILOVER, "", False).verdict == FAIL
    assert grade_promotion_kind([], SWITCHOVER, "", False).verdict == FAIL


def test_promotions_the_suite_made_never_count():
    promotions = classify_promotions(HISTORY, logs(), "4.1.5", suite_timelines=[1, 2])
    assert grade_promotion_kind(promotions, SWITCHOVER, "", True).verdict == FAIL
    assert grade_promotion_kind(promotions, MANUAL_FAILOVER, "", True).verdict == FAIL
    only_suite = classify_promotions(HISTORY[:1], logs(), "4.1.5", suite_timelines=[1])
    grade = grade_promotion_kind(only_suite, SWITCHOVER, "", True)
    assert grade.verdict == FAIL and "suite" in grade.reason


def test_promotions_of_unknown_kind_are_unverified_not_passed():
    promotions = classify_promotions(HISTORY, None, "4.1.5")
    grade = grade_promotion_kind(promotions, SWITCHOVER, "", False)
    assert grade.verdict == UNVERIFIED
    assert "--target-logs" in grade.reason
    old = classify_promotions(HISTORY[:2], logs(), "2.1.7")
    assert grade_promotion_kind(old, MANUAL_FAILOVER, "", True).verdict == UNVERIFIED


# ----------------------------------------------------------------- step 12
def test_a_server_down_because_nothing_answers_is_named():
    servers = [
        Server("ok", "UP", "10.0.0.1:5432", "L7OK", "200"),
        Server("patroni-said-no", "DOWN", "10.0.0.2:5432", "L7STS", "503"),
        Server("wrong-address", "DOWN", "10.0.0.9:5432", "L4CON", "", "Connection refused"),
        Server("timed-out", "DOWN", "", "L4TOUT"),
    ]
    found = unreachable_servers(servers)
    assert [line.split(" ")[0] for line in found] == ["wrong-address", "timed-out"]
    assert "10.0.0.9:5432" in found[0]


def test_a_server_nothing_answers_fails_unless_a_member_is_down():
    """Every member running: a wrong address (FAIL). A member down: it and a wrong address
    look alike (UNVERIFIED, never PASS), unless more servers fail than members are down."""
    one = {"rw": ["n3 (address not shown: L4TOUT)"], "ro": ["n3 (address not shown: L4TOUT)"]}
    assert grade_haproxy_routing([], {"rw": [], "ro": []}, []) is None
    failed = grade_haproxy_routing([], one, [])
    assert (
        failed is not None
        and failed.verdict == FAIL
        and "fix the server's address" in (failed.reason)
    )
    alike = grade_haproxy_routing([], one, ["n3"])
    assert alike is not None and alike.verdict == UNVERIFIED and "answers at n3" in alike.reason
    two = {"rw": ["n2 (L4TOUT)", "n3 (L4TOUT)"]}
    assert grade_haproxy_routing([], two, ["n3"]).verdict == FAIL  # type: ignore[union-attr]
    routing = grade_haproxy_routing(["rw: 0 server(s) UP"], one, ["n3"])
    assert routing is not None and routing.verdict == FAIL


# ------------------------------------------------------------------ step 8
def test_a_paused_or_lagging_replay_is_a_problem():
    assert replay_problems({"a": (False, False)}) == []
    problems = replay_problems({"a": (True, True), "b": (False, True)})
    assert "paused" in problems[0] and "behind" in problems[1]


def test_promotions_seconds_apart_each_get_their_own_request():
    """A failover and, five seconds later, a switchover: the later step down is not the
    earlier promotion's."""
    a = parse_member_log(
        "a",
        "2026-11-30 12:40:00,000 INFO: started\n"
        "2026-11-30 12:42:46,500 INFO: manual failover: demoting myself\n",
    )
    b = parse_member_log(
        "b",
        "2026-11-30 12:40:00,000 INFO: started\n"
        "2026-11-30 12:42:51,900 INFO: switchover: demoting myself\n",
    )
    history = [
        [1, 1, "r", "2026-11-30T12:42:48.417751+00:00", "b"],
        [2, 2, "r", "2026-11-30T12:42:53.789751+00:00", "a"],
    ]
    kinds = [p.kind for p in classify_promotions(history, [a, b], "4.1.5")]
    assert kinds == [MANUAL_FAILOVER, SWITCHOVER]
