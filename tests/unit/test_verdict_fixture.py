"""The verdict fixture and the sheet, tested by running pytest itself (pytester)."""

import json

import pytest

from fixtures import run

GRADED = """
import json

import pytest
from fixtures.grading.verdicts import FAIL, PASS, UNVERIFIED, Grade

pytestmark = pytest.mark.homework("10: failover with patronictl")

def test_passed(verdict):
    verdict(Grade(PASS, "a manual failover", {"promotions": "timeline 1 -> 2"}))

def test_unverified(verdict):
    verdict(Grade(UNVERIFIED, "no logs to tell the kind"))
"""

PLUGINS = f"pytest_plugins = {list(run.PLUGINS)!r}\n"


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(PLUGINS)
    pytester.makepyfile(test_graded=GRADED)
    return pytester


def test_unverified_is_a_skip_and_never_a_pass_on_the_sheet(suite):
    result = suite.runpytest("-p", "no:cacheprovider", "-rs", "--junitxml=out/alice.xml")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*UNVERIFIED: no logs to tell the kind*"])
    sheet = (suite.path / "out" / "alice.md").read_text()  # named after the JUnit XML
    assert (
        "| 10: failover with patronictl | **UNVERIFIED** | 0 / 15 | no logs to tell the kind |"
        in sheet
    )
    xml = (suite.path / "out" / "alice.xml").read_text()
    assert 'name="verdict" value="UNVERIFIED"' in xml and 'name="work" value="student"' in xml


def test_require_pass_makes_unverified_fail_the_run(suite):
    result = suite.runpytest("-p", "no:cacheprovider", "--require-pass")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_fail_is_one_line_without_a_traceback(pytester: pytest.Pytester):
    pytester.makeconftest(PLUGINS)
    pytester.makepyfile(
        test_failing="""
        import pytest
        from fixtures.grading.verdicts import FAIL, Grade

        pytestmark = pytest.mark.homework("13: configuration change")

        def test_failing(verdict):
            verdict(Grade(FAIL, "only reload parameters changed: run patronictl restart"))
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAIL: only reload parameters changed: run patronictl restart"])
    assert "def test_failing" not in result.stdout.str()


def test_a_fail_verdict_carries_its_reason_and_other_failures_the_clusters_diagnostics(
    pytester: pytest.Pytester,
):
    """A FAIL verdict grades the student's work: its reason is the evidence, and the
    cluster's diagnostics (patronictl, logs: costly on every failing step of a grading run)
    are not collected; a failure of anything else still gets them."""
    pytester.makeconftest(
        PLUGINS
        + """
import pytest
from fixtures.cluster.interface import Cluster

Fake = type("Fake", (Cluster,), {name: None for name in Cluster.__abstractmethods__})
Fake.diagnostics = lambda self, log_lines=30: "DIAGNOSED"
Fake.redact = lambda self, text: text

@pytest.fixture
def cluster():
    return Fake()
"""
    )
    pytester.makepyfile(
        test_graded="""
        import pytest
        from fixtures.grading.verdicts import FAIL, Grade

        pytestmark = pytest.mark.homework("13: configuration change")

        def test_graded(cluster, verdict):
            verdict(Grade(FAIL, "not restarted"))

        def test_broken(cluster):
            assert False, "the cluster did not answer"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert out.count("DIAGNOSED") == 1
    assert out.index("DIAGNOSED") > out.index("the cluster did not answer")


def test_a_stale_sheet_is_removed_when_the_run_starts(suite):
    stale = suite.path / "reports" / "report.md"
    stale.parent.mkdir()
    stale.write_text("the previous student's sheet")
    suite.runpytest("-p", "no:cacheprovider", "-k", "nothing_matches")
    assert not stale.exists()


def test_a_labelled_run_keeps_its_reports_apart_with_points_and_gradescope_results(
    suite: pytest.Pytester,
):
    (suite.path / "points.yml").write_text("'10': 40\n")
    result = suite.runpytest(
        "-p",
        "no:cacheprovider",
        "--junitxml=reports/junit.xml",
        "--student",
        "Ada Lovelace",
        "--points",
        "points.yml",
    )
    result.assert_outcomes(passed=1, skipped=1)
    folder = suite.path / "reports" / "Ada_Lovelace"
    assert (folder / "junit.xml").exists() and not (suite.path / "reports" / "junit.xml").exists()
    sheet = (folder / "report.md").read_text()
    assert sheet.startswith("# Patroni HA cluster: grading report: Ada Lovelace")
    assert "| **UNVERIFIED** | 0 / 40 |" in sheet and "**Score: 0 / 125**" in sheet
    document = json.loads((folder / "results.json").read_text())
    assert_gradescope_schema(document)
    step10 = next(t for t in document["tests"] if t["name"].startswith("10"))
    assert (step10["score"], step10["max_score"], step10["status"]) == (0, 40, "failed")
    assert step10["output"].startswith("UNVERIFIED: no logs")


def assert_gradescope_schema(document: dict) -> None:
    """Gradescope's documented results.json: a numeric score, and tests each with a name,
    a numeric score and max_score, a status of passed or failed and a text output."""
    assert isinstance(document.get("score"), int | float)
    assert isinstance(document.get("tests"), list) and document["tests"]
    for test in document["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], int | float) and isinstance(test["max_score"], int | float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert isinstance(test["output"], str)
    assert document["score"] == sum(t["score"] for t in document["tests"])


def test_a_bad_points_file_is_one_clear_error(suite: pytest.Pytester):
    (suite.path / "points.yml").write_text("'14': 10\n")
    result = suite.runpytest("-p", "no:cacheprovider", "--points", "points.yml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no homework step '14'*"])
