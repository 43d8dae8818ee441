"""Grading a class: the roster, the class sheet in three forms, sheets handed in."""

from pathlib import Path

import pytest

from fixtures import classroom, scoring
from fixtures.run.deadlines import Deadlines

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="patroni-ha-acceptance">
{cases}
</testsuite></testsuites>
"""
CASE = """<testcase classname="tests.{module}" name="{name}"><properties>
<property name="homework_step" value="{step}" /><property name="work" value="student" />
<property name="verdict" value="{verdict}" /><property name="verdict_reason" value="{why}" />
</properties>{failure}</testcase>"""


def handed_in(tmp_path: Path, name: str, verdicts: dict[str, str]) -> Path:
    labels = {
        "1-6, 9": "1-6, 9: cluster",
        "7-8": "7-8: replication",
        "10": "10: failover with patronictl",
        "11": "11: switchover",
        "12": "12: HAProxy",
        "13": "13: restart parameter",
    }
    cases = []
    for key, verdict in verdicts.items():
        failure = "<failure message='FAIL'>FAIL</failure>" if verdict == "FAIL" else ""
        failure = "<skipped message='UNVERIFIED'/>" if verdict == "UNVERIFIED" else failure
        cases.append(
            CASE.format(
                module="test_x",
                name=f"test_{key}",
                step=labels[key],
                verdict=verdict,
                why=f"why {key}",
                failure=failure,
            )
        )
    path = tmp_path / f"{name}.xml"
    path.write_text(JUNIT.format(cases="\n".join(cases)))
    return path


def test_a_roster_in_yaml_or_csv(tmp_path):
    yml = tmp_path / "class.yml"
    yml.write_text(
        "- student: alice\n  args: ['--target-etcd', '127.0.0.1:2379']\n"
        "- student: bob\n  args: --target-etcd 127.0.0.1:2380 --scope dummy\n"
        "  env: {PGHA_TARGET_PASSWORD: secret}\n"
    )
    entries = classroom.read_roster(yml)
    assert [e.student for e in entries] == ["alice", "bob"]
    assert entries[1].args == ["--target-etcd", "127.0.0.1:2380", "--scope", "dummy"]
    assert entries[1].env == {"PGHA_TARGET_PASSWORD": "secret"}
    table = tmp_path / "class.csv"
    table.write_text('student,args\ncarol,"--target-etcd 127.0.0.1:2381"\n')
    assert classroom.read_roster(table)[0].args == ["--target-etcd", "127.0.0.1:2381"]


@pytest.mark.parametrize(
    "text, message",
    [("[]", "no student"), ("- {args: []}", "entry 1 has no student"), ("x: 1", "expected a list")],
)
def test_a_bad_roster_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "class.yml"
    path.write_text(text)
    with pytest.raises(classroom.RosterError, match=message):
        classroom.read_roster(path)


def test_students_named_twice_are_refused(tmp_path):
    path = tmp_path / "class.yml"
    path.write_text("- student: a\n- student: a\n")
    with pytest.raises(classroom.RosterError, match="named twice: a"):
        classroom.read_roster(path)


def test_the_class_sheet_from_handed_in_reports_in_three_forms(tmp_path):
    everything = dict.fromkeys(scoring.DEFAULT_POINTS, "PASS")
    alice = classroom.graded_from_junit(
        handed_in(tmp_path, "alice", everything), "handed in: alice.xml"
    )
    bob = classroom.graded_from_junit(
        handed_in(tmp_path, "bob", {**everything, "10": "FAIL", "13": "UNVERIFIED"}),
        "handed in: bob.xml",
    )
    gone = classroom.Graded("carol", "teacher's run", {}, problem="etcd is not reachable")
    out = tmp_path / "class"
    paths = classroom.write_sheets([alice, bob, gone], dict(scoring.DEFAULT_POINTS), out)
    md, table, page = (p.read_text() for p in paths)
    assert (
        "| alice | PASS | PASS | PASS | PASS | PASS | PASS | 100 / 100 | handed in: alice.xml |"
        in md
    )
    assert "| bob | PASS | PASS | FAIL | PASS | PASS | UNVERIFIED | 70 / 100 |" in md
    assert "- carol: etcd is not reachable" in md
    assert 'student,score,max score,"1-6, 9"' in table.splitlines()[0]
    assert "bob,70,100.0" in table
    assert table.splitlines()[0].endswith(",source,problem,seconds")
    assert "<table id='class'>" in page and "title='why 10'" in page and "NOT GRADED" in page


def test_an_unreachable_cluster_is_reported_and_the_others_still_graded(tmp_path):
    """A real grading run (no Docker needed: it stops at the unreachable etcd)."""
    entries = [
        classroom.Entry("dave", ["--target-etcd", "127.0.0.1:1"]),
        classroom.Entry("erin", ["--target-etcd", "127.0.0.1:1", "--allow-changes"]),
    ]
    graded = classroom.grade_roster(entries, tmp_path, jobs=2, say=lambda m: None)
    assert [g.student for g in graded] == ["dave", "erin"]
    assert "etcd at 127.0.0.1:1 is not reachable" in graded[0].problem
    assert (tmp_path / "dave" / "report.md").exists()
    assert "only reads" in graded[1].problem
    # What each job of a class spread over CI jobs leaves, merged into one sheet.
    again = classroom.merged([tmp_path], tmp_path)
    assert [(g.student, g.problem) for g in again] == [(g.student, g.problem) for g in graded]


def test_a_labelled_run_names_its_student_and_class_runs_merge(tmp_path):
    everything = dict.fromkeys(scoring.DEFAULT_POINTS, "PASS")
    xml = handed_in(tmp_path, "bob", everything)
    xml.write_text(
        xml.read_text().replace(
            "<properties>", '<properties><property name="student" value="Ann Lee" />'
        )
    )
    # Handed in: filed under the teacher's name for it, whatever the file says of itself.
    bob = classroom.graded_from_junit(xml, "handed in: bob.xml")
    assert bob.student == "bob" and "labelled 'Ann Lee'" in bob.source
    for job, name in (("job1", "ann"), ("job2", "ben")):
        folder = tmp_path / job / "class" / name
        folder.mkdir(parents=True)
        (folder / "junit.xml").write_text(handed_in(tmp_path, name, everything).read_text())
        (folder / "report.md").write_text(f"sheet of {name}")
        classroom.record(classroom.Graded(name, "teacher's run", {}, seconds=9.5), folder)
    out = tmp_path / "merged"
    assert (
        classroom.main(
            [
                "--from",
                str(tmp_path / "job1/class"),
                str(tmp_path / "job2/class"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    sheet = (out / "class.md").read_text()
    assert (
        "| [ann](ann/report.md) | PASS | PASS | PASS | PASS | PASS | PASS | 100 / 100 | "
        "teacher's run |" in sheet
    )
    assert (out / "ann" / "report.md").read_text() == "sheet of ann"  # copied: links hold
    assert "ben" in sheet and "9.5" in (out / "class.csv").read_text()
    # The same student from two jobs is an error, not a silent pick.
    assert (
        classroom.main(
            [
                "--from",
                str(tmp_path / "job1/class"),
                str(tmp_path / "job1/class"),
                "--out",
                str(out),
            ]
        )
        == 2
    )


def test_a_step_passes_or_not_by_exit_status_for_points_per_command(tmp_path, capsys):
    steps = {
        "10": ("10: failover with patronictl", "PASS", ""),
        "13": ("13: restart", "FAIL", "pending"),
    }
    results = tmp_path / "results.json"
    scoring.write_gradescope(results, scoring.gradescope(steps, scoring.DEFAULT_POINTS))
    assert scoring.main([str(results), "--step", "10"]) == 0
    assert scoring.main([str(results), "--step", " 10 "]) == 0
    assert scoring.main([str(results), "--step", "13"]) == 1
    assert "FAIL: pending" in capsys.readouterr().out
    assert scoring.main([str(results), "--step", "99"]) == 2
    assert scoring.main([str(tmp_path / "none.json"), "--step", "10"]) == 2


def test_a_points_file_names_steps_as_the_sheet_does_spaces_or_not(tmp_path):
    points = tmp_path / "points.yml"
    points.write_text('"1-6,9": 25\n"10": 30\n')
    loaded = scoring.load_points(points)
    assert loaded["1-6, 9"] == 25 and loaded["10"] == 30
    assert set(loaded) == set(scoring.DEFAULT_POINTS)
    points.write_text('"14": 10\n')
    with pytest.raises(scoring.PointsError, match="no homework step '14'"):
        scoring.load_points(points)


def test_a_students_run_is_bounded_by_the_deadline_table_scaled_as_it_scales():
    table = Deadlines().child_run
    assert classroom.student_run_seconds([], {}) == table
    assert classroom.student_run_seconds([], {"PGHA_TIMEOUT_MULTIPLIER": "2"}) == 2 * table
    flag_wins = ["--timeout-multiplier", "3"]
    assert classroom.student_run_seconds(flag_wins, {"PGHA_TIMEOUT_MULTIPLIER": "2"}) == 3 * table
    assert classroom.student_run_seconds(["--timeout-multiplier=4"], {}) == 4 * table
    for refused in ("slow", "0", "-1", "500"):  # the run itself stops at once on these
        assert classroom.student_run_seconds([], {"PGHA_TIMEOUT_MULTIPLIER": refused}) == table
