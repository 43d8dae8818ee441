"""The Markdown grading sheet."""

from fixtures.grading.report import Result, reason_of, render, render_refused, step_verdict


def result(nodeid, outcome, step=None, message="", **extra):
    props = [("homework_step", step)] if step else []
    props += list(extra.items())
    return Result(nodeid, outcome, 1.5, props, message)


def test_one_row_per_step_with_its_verdict_and_why():
    text = render(
        [
            result(
                "tests/test_03_failover.py::test_a", "passed", "10: failover", failover_seconds=2.7
            ),
            result(
                "tests/test_03_failover.py::test_b",
                "failed",
                "10: failover",
                verdict="FAIL",
                verdict_reason="no promotion in /history",
            ),
            result("tests/test_04_switchover.py::test_c", "passed", "11: switchover"),
        ],
        "Report",
        {"cluster": "mine"},
    )
    assert "- cluster: mine" in text
    assert "| 10: failover | **FAIL** | 0 / 15 | no promotion in /history |" in text
    assert "| 11: switchover | **PASS** | 15 / 15 |  |" in text
    assert "**Score: 15 / 100**" in text
    assert "Figures: failover_seconds = 2.7" in text


def test_evidence_and_the_one_line_reason_are_shown_without_the_traceback():
    failing = Result(
        "tests/test_01.py::test_x",
        "failed",
        0.1,
        [("homework_step", "1"), ("evidence: patronictl list", "| node1 | Leader |")],
        "def test_x():\n>       assert False\nE       AssertionError: 2 leaders\n\nfile.py:3",
    )
    text = render([failing], "Report", {})
    assert "Evidence, patronictl list:\n\n```\n| node1 | Leader |\n```" in text
    assert "**Why:** 2 leaders" in text
    assert "def test_x" not in text  # tracebacks stay in the JUnit XML


def test_unit_tests_stay_out_of_the_grading_sheet():
    text = render([result("tests/unit/test_w.py::test_u", "passed")], "Report", {})
    assert "test_u" not in text


def test_a_skip_is_never_a_pass():
    assert step_verdict([result("a", "passed"), result("b", "skipped")]) == "UNVERIFIED"
    assert step_verdict([result("a", "error")]) == "FAIL"
    assert step_verdict([result("a", "skipped")]) == "UNVERIFIED"
    assert step_verdict([]) == "UNVERIFIED"


def test_what_the_suite_performs_is_not_the_students_work():
    """A step the student did not do stays FAIL however well the suite's own actions went,
    and a step with only the suite's tests is not PASS."""
    rows = [
        result("t.py::graded", "failed", "13", work="student", verdict="FAIL"),
        result("t.py::performed", "passed", "13", work="suite"),
    ]
    assert step_verdict(rows) == "FAIL"
    assert step_verdict(rows[1:]) == "UNVERIFIED"
    text = render(rows, "Report", {})
    assert "Performed by the suite (proves the cluster behaves" in text


def test_acting_checks_not_run_read_only_do_not_change_the_verdict():
    rows = [
        result("t.py::graded", "passed", "10", work="student"),
        result("t.py::acted", "skipped", "10", work="suite", message="pass --allow-changes"),
    ]
    assert step_verdict(rows) == "PASS"
    assert "Not performed by the suite: 1 check(s) (pass --allow-changes)" in render(rows, "R", {})


def test_extra_evidence_counts_when_it_fails_only():
    graded = result("t.py::graded", "passed", "1-6", work="student")
    skipped_extra = result("t.py::patronictl", "skipped", "1-6", work="extra")
    failed_extra = result("t.py::ssl", "failed", "1-6", work="extra")
    assert step_verdict([graded, skipped_extra]) == "PASS"
    assert step_verdict([graded, failed_extra]) == "FAIL"


def test_a_grading_run_sheet_holds_the_homework_steps_only():
    text = render(
        [
            result("tests/test_01_cluster.py::test_y", "passed", "1-6, 9: cluster"),
            result("tests/test_09_grade.py::test_z", "skipped", "grading: a homework cluster"),
        ],
        "Report",
        {},
    )
    assert "grading: a homework cluster" not in text
    assert "Beyond the homework" not in text


def test_steps_follow_the_modules_whatever_order_results_arrived_in():
    """Lanes side by side finish in any order; the sheet reads as the homework does."""
    text = render(
        [
            result("tests/test_06_haproxy.py::test_z", "passed", "12: HAProxy"),
            result("tests/test_03_failover.py::test_b", "passed", "10: failover, b"),
            result("tests/test_01_cluster.py::test_y", "passed", "1-6: cluster"),
            result("tests/test_03_failover.py::test_a", "passed", "10: failover, a"),
        ],
        "Report",
        {},
    )
    rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| 1")]
    assert rows == ["| 1-6: cluster", "| 10: failover, b", "| 10: failover, a", "| 12: HAProxy"]


def test_a_refused_run_says_why():
    text = render_refused("Report", "cannot grade the cluster: etcd unreachable", {"c": "x"})
    assert "NOT GRADED" in text and "etcd unreachable" in text


def test_the_reason_is_the_message_without_the_exception_kind_nor_introspection():
    failing = result(
        "t.py::x",
        "failed",
        "8",
        message=(
            "E   fixtures.run.waiting.WaitTimeout: timed out after 15s waiting for lag 0\n"
            "E   last seen: {'b': 7}\nE   --- patronictl list (exit 0)\nE   | a | Leader |"
        ),
    )
    assert reason_of(failing) == "timed out after 15s waiting for lag 0 last seen: {'b': 7}"
    asserted = result(
        "t.py::y", "failed", "1", message="E   AssertionError: 2 leaders\nE   assert 2 == 1"
    )
    assert reason_of(asserted) == "2 leaders"
