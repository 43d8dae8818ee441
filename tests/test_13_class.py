"""Grading a class: the class command over a roster of real homework clusters.

Two clusters built as the seed builds them (fixtures/grading/seed_cluster.py), in different
states, and one roster entry that does not answer, graded side by side by
``python -m fixtures.classroom`` as a teacher runs it (read-only, 127.0.0.1 only):

- alice did every step (REST switchover, patronictl failover, max_connections
  restarted): every step PASS;
- bob switched over through the REST API and edited max_connections without a
  restart, and never failed over: 10 and 13 FAIL, the rest PASS;
- carol's etcd does not answer: NOT GRADED, and the others are graded all the same.

The same sheet must come out of merging the class run's folders as another CI job's
(``--from``), and ``python -m fixtures.scoring`` must turn bob's steps into exit statuses.

The class sheet must hold exactly these verdicts in its CSV, Markdown and HTML forms,
and the HTML page, opened in a real headless browser (Chromium), must show the table
with every verdict linked to the student's own sheet.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from fixtures import scoring
from fixtures.grading import seed_cluster
from fixtures.grading.child_run import ROOT
from fixtures.run.config import stop_run

pytestmark = [
    pytest.mark.order(13),
    pytest.mark.cluster,
    pytest.mark.homework("grading: a class of homework clusters graded by the class command"),
]

STEPS = tuple(scoring.DEFAULT_POINTS)
EXPECTED = {
    "alice": dict.fromkeys(STEPS, "PASS"),
    "bob": {**dict.fromkeys(STEPS, "PASS"), "10": "FAIL", "13": "FAIL"},
    "carol": dict.fromkeys(STEPS, "NOT GRADED"),
}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def classroom(homework_clusters, progress):
    """alice's and bob's clusters, each built and brought to its state side by side (as two
    students work, each waiting on their own Patroni); removed at the end."""

    def alice():
        hw = homework_clusters()
        progress(f"homework {hw.run_id} (alice): switchover, failover, restart")
        seed_cluster.complete_the_homework(hw)
        return hw

    def bob():
        hw = homework_clusters()
        progress(f"homework {hw.run_id} (bob): switchover, max_connections not restarted")
        seed_cluster.switchover_over_rest(hw, seed_cluster.a_replica(hw))
        seed_cluster.edit_max_connections(hw)
        seed_cluster.wait_routed(hw)
        return hw

    with ThreadPoolExecutor(max_workers=2) as pool:
        students = {"alice": pool.submit(alice), "bob": pool.submit(bob)}
        return {name: built.result() for name, built in students.items()}


@pytest.fixture(scope="module")
def class_run(classroom, tmp_path_factory, progress, deadlines, request):
    """The class command over the roster, as a teacher types it."""
    folder = tmp_path_factory.mktemp("class")
    roster = [
        {"student": name, "args": seed_cluster.target_args(hw)} for name, hw in classroom.items()
    ]
    roster.append({"student": "carol", "args": ["--target-etcd", f"127.0.0.1:{closed_port()}"]})
    (folder / "roster.yml").write_text(yaml.safe_dump(roster))
    out = folder / "sheets"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGHA_")}
    progress("class: grading alice, bob and carol, three side by side")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fixtures.classroom", "roster.yml", "--jobs", "3"]
            + ["--out", str(out)],
            cwd=folder,
            env={**environment, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=deadlines.child_run,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        stop_run(request.session, f"the class command gave no answer in {deadlines.child_run}s")
    return {"out": out, "done": done}


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_the_class_command_writes_the_three_sheets(class_run):
    done = class_run["done"]
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("class.md", "class.csv", "class.html"):
        assert (class_run["out"] / name).is_file(), done.stdout + done.stderr


def test_the_class_sheet_holds_every_students_exact_verdicts(class_run, record_property):
    table = read_csv(class_run["out"] / "class.csv")
    found = {student: {step: row[step] for step in STEPS} for student, row in table.items()}
    why = {s: {k: v for k, v in row.items() if k.endswith("why")} for s, row in table.items()}
    assert found == EXPECTED, (why, class_run["done"].stderr[-3000:])
    points = scoring.DEFAULT_POINTS
    assert float(table["alice"]["score"]) == sum(points.values())
    assert float(table["bob"]["score"]) == sum(points.values()) - points["10"] - points["13"]
    assert "is not reachable" in table["carol"]["problem"]
    for student in ("alice", "bob"):
        seconds = float(table[student]["seconds"])
        record_property(f"grading_seconds_class_{student}", seconds)


def test_each_graded_student_has_a_sheet_and_gradescope_results(class_run):
    out = class_run["out"]
    for student in ("alice", "bob"):
        assert "Score:" in (out / student / "report.md").read_text()
        assert (out / student / "results.json").is_file()
    markdown = (out / "class.md").read_text()
    assert "- carol:" in markdown and "is not reachable" in markdown


def test_class_runs_of_other_jobs_merge_and_each_step_gives_an_exit_status(class_run, tmp_path):
    """What a CI job per chunk of a roster leaves merges into the same class sheet
    (``--from``), and a step's verdict is an exit status for points per command."""
    sheets = class_run["out"]

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    merged = command("fixtures.classroom", "--from", str(sheets), "--out", str(tmp_path / "m"))
    assert merged.returncode == 0, merged.stderr
    again = read_csv(tmp_path / "m" / "class.csv")
    assert {s: {k: row[k] for k in STEPS} for s, row in again.items()} == EXPECTED
    bob = str(sheets / "bob" / "results.json")
    assert command("fixtures.scoring", bob, "--step", "11").returncode == 0
    failed = command("fixtures.scoring", bob, "--step", "10")
    assert failed.returncode == 1 and "FAIL" in failed.stdout, failed.stdout


class Page(HTMLParser):
    """The class table as the browser rendered it: each row's cells and links."""

    def __init__(self) -> None:
        super().__init__()
        self.in_table = False
        self.rows: list[list[tuple[str, str | None]]] = []
        self.cell: list[str] | None = None
        self.link: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id") == "class":
            self.in_table = True
        elif self.in_table and tag == "tr":
            self.rows.append([])
        elif self.in_table and tag in ("td", "th"):
            self.cell, self.link = [], None
        elif self.in_table and tag == "a":
            self.link = attributes.get("href")

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = False
        elif tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1].append(("".join(self.cell).strip(), self.link))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def test_the_class_page_shows_the_table_in_a_real_browser(class_run, tmp_path, deadlines):
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if browser is None:
        pytest.skip("no Chromium to open the class page (Debian: apt-get install chromium)")
    page = class_run["out"] / "class.html"
    shown = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        + [f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=deadlines.browser,
        stdin=subprocess.DEVNULL,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    parsed = Page()
    parsed.feed(shown.stdout)
    head, *body = parsed.rows
    assert [text for text, _ in head][: len(STEPS) + 1] == ["student", *STEPS], shown.stdout
    seen = {row[0][0]: {step: row[i + 1][0] for i, step in enumerate(STEPS)} for row in body}
    assert seen == EXPECTED, shown.stdout
    for row in body:  # each verdict links to the student's own sheet (carol's: why not)
        (link,) = {link for _, link in row[1 : len(STEPS) + 1]}
        assert link is not None and (class_run["out"] / link).is_file(), row
