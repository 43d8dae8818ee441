"""Grading refuses what it cannot grade or may not do.

A grading run (the homework modules pointed at a cluster through options only, as
in test_08) with a wrong scope, an unreachable etcd, a wrong password, wrong HAProxy
ports or a member without an address stops before any step, exit status 3, with one
message that names what is wrong and a sheet that says it; a member that does not
answer, or a cluster of fewer than three, is graded (the steps that need the missing
member FAIL); without --allow-changes it skips every acting step with the reason. These
need a running cluster but not the homework lane's, so they run on a cluster of
their own beside it (fixtures/run/registry.py).
"""

import pytest

from fixtures.grading import homework
from fixtures.grading.child_run import grade_as_foreign, outcomes, read_junit

pytestmark = [
    pytest.mark.order(11),
    pytest.mark.cluster,
    pytest.mark.homework(
        "grading: bad input stops a grading run with one message; acting steps need --allow-changes"
    ),
]

# The module a refused run is started with: it stops before any of its tests.
PREFLIGHT = ["tests/test_01_cluster.py"]

# Tests of these modules that only read: they run on a foreign cluster without --allow-changes.
READ_ONLY_IN_ACTING_MODULES = {
    "test_step10_a_manual_failover_is_in_the_history_and_every_member_followed",
    "test_step13_a_restart_parameter_changed_after_bootstrap_runs_on_every_member",
}


@pytest.mark.parametrize(
    "change, message",
    [
        (["--scope", "nosuchscope"], "scope 'nosuchscope' has no members in etcd"),
        (["--target-etcd", "127.0.0.1:1"], "etcd at 127.0.0.1:1 is not reachable"),
    ],
)
def test_bad_input_stops_the_grading_run_with_one_clear_message(
    own_cluster, tmp_path, change, message
):
    """An unreachable etcd or a wrong scope: nothing can be graded. One message, before any
    step, and a sheet that says why (no stale one left)."""
    sheet = tmp_path / "child.md"
    sheet.write_text("the previous student's sheet")
    done, _ = grade_as_foreign(own_cluster, tmp_path, *change, modules=PREFLIGHT)
    assert done.returncode == 3, done.stdout[-2000:]
    assert message in done.stdout, done.stdout[-2000:]
    assert "Traceback" not in done.stdout and " passed" not in done.stdout
    written = sheet.read_text()
    assert "NOT GRADED" in written and message in written, written


def test_a_member_whose_rest_api_does_not_answer_is_graded_as_down(own_cluster, tmp_path):
    """Not refused, even when it is the leader's: the steps that need every member FAIL,
    and the sheet names the member and why."""
    leader = own_cluster.leader()
    done, xml = grade_as_foreign(
        own_cluster, tmp_path, "--target-member", f"{leader}=http://127.0.0.1:1", modules=PREFLIGHT
    )
    assert done.returncode == 1, done.stdout[-2000:]
    sheet = (tmp_path / "child.md").read_text()
    assert "| **FAIL** |" in sheet and f"{leader}'s REST API at http://127.0.0.1:1" in sheet, sheet


def test_wrong_password_stops_the_grading_run_with_one_clear_message(own_cluster, tmp_path):
    done, _ = grade_as_foreign(
        own_cluster, tmp_path, password="not-the-password", modules=PREFLIGHT
    )
    assert done.returncode == 3, done.stdout[-2000:]
    assert "password authentication failed" in done.stdout, done.stdout[-2000:]
    assert "PGHA_TARGET_PASSWORD" in done.stdout, done.stdout[-2000:]
    assert "not-the-password" not in done.stdout


def test_wrong_haproxy_ports_stop_the_grading_run_with_one_clear_message(own_cluster, tmp_path):
    """A read-write port where nothing listens, or a read-only port that is HAProxy's stats
    page (HTTP, not PostgreSQL): one message naming the port, before any step."""
    rw, ro, stats = (own_cluster.haproxy_endpoint(w).port for w in ("rw", "ro", "stats"))
    for ports, message in (
        (f"1,{ro},{stats}", "read-write port 127.0.0.1:1"),
        (f"{rw},{stats},{stats}", f"read-only port 127.0.0.1:{stats}"),
    ):
        done, _ = grade_as_foreign(
            own_cluster,
            tmp_path,
            "--target-haproxy-ports",
            ports,
            modules=PREFLIGHT,
        )
        assert done.returncode == 3, done.stdout[-2000:]
        assert message in done.stdout and "does not serve PostgreSQL" in done.stdout, done.stdout[
            -2000:
        ]
        assert " passed" not in done.stdout


def test_members_etcd_lists_without_an_address_are_named(own_cluster, tmp_path):
    """Every member etcd knows must be reachable: a missing REST URL is named."""
    done, _ = grade_as_foreign(
        own_cluster,
        tmp_path,
        modules=PREFLIGHT,
        members=own_cluster.member_names()[:2],
    )
    assert done.returncode == 3, done.stdout[-2000:]
    assert f"no REST URL given for ['{own_cluster.member_names()[2]}']" in done.stdout, done.stdout[
        -2000:
    ]


def test_a_cluster_of_fewer_than_three_members_is_graded_and_fails_steps_1_to_6(
    own_cluster, tmp_path
):
    """The homework needs three members: with one stopped and gone from etcd, the grading
    run is not refused; steps 1-6 FAIL saying so. The member is started again afterwards."""
    stopped = own_cluster.replicas()[0]
    own_cluster.fault_control().stop_member(stopped)
    try:

        def gone():
            names = [m["name"] for m in own_cluster.members()]
            return stopped not in names, names

        own_cluster.wait_for(
            f"{stopped}'s member key to leave etcd", gone, timeout=own_cluster.deadlines.failover
        )
        remaining = [name for name in own_cluster.member_names() if name != stopped]
        done, _ = grade_as_foreign(own_cluster, tmp_path, modules=PREFLIGHT, members=remaining)
    finally:
        own_cluster.fault_control().start_member(stopped)
    assert done.returncode == 1, done.stdout[-2000:]
    sheet = (tmp_path / "child.md").read_text()
    assert "| **FAIL** |" in sheet and "the homework needs 3" in sheet, sheet
    own_cluster.wait_healthy()


def test_without_allow_changes_acting_steps_are_skipped_with_the_reason(own_cluster, tmp_path):
    """Failover, switchover and restart do not run on someone's cluster unless allowed;
    the steps are graded from what the cluster shows instead (a failover, a switchover and
    a restart parameter changed, made here as a student would)."""
    homework.play_the_student(own_cluster)
    done, xml = grade_as_foreign(
        own_cluster, tmp_path, modules=["tests/test_03_failover.py", "tests/test_05_restart.py"]
    )
    child = {test.rsplit(".", 1)[-1]: outcome for test, outcome in outcomes(xml).items()}
    read_only = {t: o for t, o in child.items() if t in READ_ONLY_IN_ACTING_MODULES}
    acting = {t: o for t, o in child.items() if t not in READ_ONLY_IN_ACTING_MODULES}
    assert read_only == dict.fromkeys(READ_ONLY_IN_ACTING_MODULES, "passed"), (
        child,
        done.stdout[-2000:],
    )
    assert acting and set(acting.values()) == {"skipped"}, (child, done.stdout[-2000:])
    messages = [case.skip_message for case in read_junit(xml) if case.outcome == "skipped"]
    assert messages and all("pass --allow-changes" in (m or "") for m in messages), messages
