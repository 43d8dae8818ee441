"""Whose run is it: leftovers are removed only when their owner is surely gone."""

import os
import socket
import subprocess
import sys

from fixtures import docker_cluster
from fixtures.docker_cluster import (
    LABEL_OWNER,
    LABEL_RUN,
    _owner,
    _owner_alive,
    remove_leftovers,
)


def test_this_process_owns_a_live_run():
    assert _owner_alive(_owner())


def test_a_finished_process_of_this_namespace_is_gone():
    child = subprocess.run(
        [sys.executable, "-c", "from fixtures.docker_cluster import _owner; print(_owner())"],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert not _owner_alive(child.stdout.strip())


def test_a_reused_pid_with_another_start_time_is_gone():
    host, namespace, pid, started = _owner().split(":")
    assert not _owner_alive(f"{host}:{namespace}:{pid}:{int(started) - 1}")


def test_runs_of_another_pid_namespace_or_host_are_left_alone(monkeypatch):
    host, namespace, pid, started = _owner().split(":")
    # Same host name and PID, another PID namespace: a CI job in another container.
    assert _owner_alive(f"{host}:{namespace}0:{pid}:0")
    assert _owner_alive(f"not-{socket.gethostname()}:{namespace}:{pid}:0")
    # Labels of the old form (host:pid) are not judged either.
    assert _owner_alive(f"{host}:{pid}")


def test_start_time_of_a_missing_process_is_unknown():
    assert docker_cluster._start_time(2**22 + 12345) is None


class Vanished:
    """A container of a dead run that another run removed while this one was listing."""

    labels = {LABEL_OWNER: "gone:0:1:0", LABEL_RUN: "dead"}

    def remove(self, **kwargs):
        import docker.errors

        raise docker.errors.NotFound("No such container")


class Client:
    def __init__(self):
        self.listed_with = {}
        self.containers = self
        self.networks = self

    def list(self, **kwargs):
        if "all" not in kwargs:
            return []  # networks
        self.listed_with = kwargs
        return [Vanished()]


def test_leftovers_removed_meanwhile_by_another_run_are_no_error():
    client = Client()
    said: list[str] = []
    assert remove_leftovers(client, said.append) == 0
    assert client.listed_with.get("ignore_removed") is True
    assert said == []
