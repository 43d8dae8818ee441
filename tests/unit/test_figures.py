"""The figures file of a run and its table."""

import json

from fixtures import figures
from fixtures.figures import Figures, main, table


def test_written_figures_read_back_as_a_table(tmp_path, capsys):
    figures = Figures()
    figures.add(
        "planned_switchover_while_writing",
        "sync",
        {"write_outage_seconds": 1.234, "lost": 0, "acknowledged": 900},
    )
    figures.add("leader_killed", "async", {"write_outage_seconds": 24.5, "lost": 3})
    path = tmp_path / "figures.json"
    figures.write(path, {"timings": {"ttl": 20, "loop_wait": 2}})

    document = json.loads(path.read_text())
    assert document["scenarios"][1]["lost"] == 3
    assert document["machine"]["cpus"]

    assert main([str(path)]) == 0
    printed = capsys.readouterr().out
    assert "| planned_switchover_while_writing | sync" in printed
    assert "1.23" in printed and "24.50" in printed
    assert "'ttl': 20" in printed


def test_missing_values_show_as_dashes():
    text = table({"scenarios": [{"scenario": "x", "mode": "sync"}]})
    row = text.splitlines()[-1]
    assert row.startswith("| x") and "| -" in row


def test_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path / "none.json")]) == 2
    assert "no figures at" in capsys.readouterr().err


def test_the_figures_file_keeps_the_sections_not_measured_again(tmp_path):
    from fixtures.figures import update_markdown

    path = tmp_path / "FIGURES.md"
    update_markdown(path, "benchmark", "| a | b |", "python -m fixtures.benchmark --repeat 3")
    update_markdown(path, "run", "| scenario | mode |", "python -m fixtures.figures --write F")
    update_markdown(path, "run", "| scenario | mode | again |", "python -m fixtures.figures")
    text = path.read_text()
    assert text.count("<!-- figures:run -->") == 1 and "| scenario | mode | again |" in text
    assert "| a | b |" in text and "`python -m fixtures.benchmark --repeat 3`" in text
    assert text.index("One full run") < text.index("Benchmark")


def test_the_grading_runs_durations_come_from_the_junit_xml(tmp_path):
    xml = tmp_path / "junit.xml"
    xml.write_text(
        "<testsuites><testsuite time='423.2'><testcase classname='t' name='test_a@homework-built'>"
        "<properties><property name='grading_seconds_read_only' value='8.9'/>"
        "<property name='verdict' value='PASS'/>"
        "<property name='waited_for_the_run_seconds' value='6.0'/></properties></testcase>"
        "<testcase classname='t' name='test_b@class'><properties>"
        "<property name='grading_seconds_class_alice' value='5.7'/></properties>"
        "</testcase></testsuite></testsuites>"
    )
    text = figures.grading_table(xml)
    assert "| test_a | grading_seconds_read_only" in text and "| 8.9 " in text
    assert "grading_seconds_class_alice | 5.7" in text and "verdict" not in text
    assert "waited_for" not in text  # a measurement's wait is no grading figure
    assert figures.grading_table(tmp_path / "none.xml") == ""
    # Only the JUnit XML of the run that wrote the figures (it started pytest_seconds before).
    xml.write_text(xml.read_text().replace("time='423.2'", "timestamp='2026-11-30T10:00:00+00:00'"))
    run = {"written_at": "2026-11-30T10:07:03+00:00", "pytest_seconds": 423.0}
    assert figures.of_the_run(xml, run)
    assert not figures.of_the_run(xml, {**run, "written_at": "2026-11-30T12:00:00+00:00"})
    assert not figures.of_the_run(tmp_path / "none.xml", run)
