"""Failures of cluster tests never carry the cluster's passwords (no Docker needed)."""

from types import SimpleNamespace
from typing import cast

import pytest

from fixtures.grading import report_plugin
from tests.unit.test_cluster_health import ViewOnly


def report_for(longrepr, funcargs):
    """Run the makereport hook wrapper on a failed report, as pytest would."""
    # Stand-ins with only what the hook reads.
    item = cast(pytest.Item, SimpleNamespace(funcargs=funcargs))
    call = cast(pytest.CallInfo, SimpleNamespace(excinfo=None))
    hook = report_plugin.pytest_runtest_makereport(item, call)
    next(hook)
    rep = SimpleNamespace(failed=True, longrepr=longrepr)
    try:
        hook.send(rep)
    except StopIteration as done:
        return done.value
    raise AssertionError("the hook wrapper did not finish")


def test_a_traceback_showing_conninfo_is_redacted():
    text = "conninfo = 'host=127.0.0.1 port=5 user=postgres password=s3cret-pw sslmode=require'"
    rep = report_for(text, {"cluster": ViewOnly()})
    assert "s3cret-pw" not in str(rep.longrepr) and "password=***" in str(rep.longrepr)


def test_failures_without_a_secret_or_a_cluster_are_left_alone():
    assert report_for("assert 1 == 2", {"cluster": ViewOnly()}).longrepr == "assert 1 == 2"
    assert report_for("password=s3cret-pw", {}).longrepr == "password=s3cret-pw"
