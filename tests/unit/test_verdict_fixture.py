"""The verdict fixture and the sheet, tested by running pytest itself (pytester)."""

import pytest

GRADED = """
import pytest
from fixtures.verdicts import FAIL, PASS, UNVERIFIED, Grade

pytestmark = pytest.mark.homework("10: failover with patronictl")

def test_passed(verdict):
    verdict(Grade(PASS, "a manual failover", {"promotions": "timeline 1 -> 2"}))

def test_unverified(verdict):
    verdict(Grade(UNVERIFIED, "no logs to tell the kind"))
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest('pytest_plugins = ["fixtures.report_plugin", "fixtures.plugin"]\n')
    pytester.makepyfile(test_graded=GRADED)
    return pytester


def test_unverified_is_a_skip_and_never_a_pass_on_the_sheet(suite):
    result = suite.runpytest("-p", "no:cacheprovider", "-rs", "--junitxml=out/alice.xml")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*UNVERIFIED: no logs to tell the kind*"])
    sheet = (suite.path / "out" / "alice.md").read_text()  # named after the JUnit XML
    assert "| 10: failover with patronictl | **UNVERIFIED** | no logs to tell the kind |" in sheet
    xml = (suite.path / "out" / "alice.xml").read_text()
    assert 'name="verdict" value="UNVERIFIED"' in xml and 'name="work" value="student"' in xml


def test_require_pass_makes_unverified_fail_the_run(suite):
    result = suite.runpytest("-p", "no:cacheprovider", "--require-pass")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_fail_is_one_line_without_a_traceback(pytester: pytest.Pytester):
    pytester.makeconftest('pytest_plugins = ["fixtures.report_plugin", "fixtures.plugin"]\n')
    pytester.makepyfile(
        test_failing="""
        import pytest
        from fixtures.verdicts import FAIL, Grade

        pytestmark = pytest.mark.homework("13: configuration change")

        def test_failing(verdict):
            verdict(Grade(FAIL, "only reload parameters changed: run patronictl restart"))
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FAIL: only reload parameters changed: run patronictl restart"])
    assert "def test_failing" not in result.stdout.str()


def test_a_stale_sheet_is_removed_when_the_run_starts(suite):
    stale = suite.path / "reports" / "report.md"
    stale.parent.mkdir()
    stale.write_text("the previous student's sheet")
    suite.runpytest("-p", "no:cacheprovider", "-k", "nothing_matches")
    assert not stale.exists()
