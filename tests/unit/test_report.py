"""The Markdown grading sheet."""

from fixtures.report import Result, render, step_verdict


def result(nodeid, outcome, step=None, **extra):
    props = [("homework_step", step)] if step else []
    props += list(extra.items())
    return Result(nodeid, outcome, 1.5, props, extra.pop("message", ""))


def test_one_row_per_step_with_its_verdict():
    text = render(
        [
            result(
                "tests/test_03_failover.py::test_a", "passed", "10: failover", failover_seconds=2.7
            ),
            result("tests/test_03_failover.py::test_b", "failed", "10: failover"),
            result("tests/test_04_switchover.py::test_c", "skipped", "11: switchover"),
        ],
        "Report",
        {"cluster": "mine"},
    )
    assert "- cluster: mine" in text
    assert "| 10: failover | **FAIL** | 1 | 1 | 0 |" in text
    assert "| 11: switchover | **SKIP** | 0 | 0 | 1 |" in text
    assert "Figures: failover_seconds = 2.7" in text


def test_evidence_and_failure_text_are_shown_in_blocks():
    failing = Result(
        "tests/test_01.py::test_x",
        "failed",
        0.1,
        [("homework_step", "1"), ("evidence: patronictl list", "| node1 | Leader |")],
        "AssertionError: 2 leaders\n--- patronictl list\n...",
    )
    text = render([failing], "Report", {})
    assert "Evidence, patronictl list:\n\n```\n| node1 | Leader |\n```" in text
    assert "Why it failed:" in text and "AssertionError: 2 leaders" in text


def test_unit_tests_stay_out_of_the_grading_sheet():
    text = render([result("tests/unit/test_w.py::test_u", "passed")], "Report", {})
    assert "test_u" not in text


def test_step_verdicts():
    assert step_verdict([result("a", "passed"), result("b", "skipped")]) == "PASS"
    assert step_verdict([result("a", "error")]) == "FAIL"
    assert step_verdict([result("a", "skipped")]) == "SKIP"


def test_steps_follow_the_modules_whatever_order_results_arrived_in():
    """Lanes side by side finish in any order; the sheet reads as the homework does."""
    text = render(
        [
            result("tests/test_10_student.py::test_z", "passed", "12: own HAProxy config"),
            result("tests/test_03_failover.py::test_b", "passed", "10: failover, b"),
            result("tests/test_01_cluster.py::test_y", "passed", "1-6: cluster"),
            result("tests/test_03_failover.py::test_a", "passed", "10: failover, a"),
        ],
        "Report",
        {},
    )
    rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| 1")]
    assert rows == [
        "| 1-6: cluster",
        "| 10: failover, b",
        "| 10: failover, a",
        "| 12: own HAProxy config",
    ]
