"""Whose run is it: leftovers are removed only when their owner is surely gone."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from fixtures.cluster.docker_provider import (
    LABEL_OWNER,
    LABEL_RUN,
    _owner,
    _owner_alive,
    remove_leftovers,
)

ROOT = Path(__file__).resolve().parents[2]


def test_this_process_owns_a_live_run():
    assert _owner_alive(_owner())


def child_owner(*, exit_after: bool = True) -> subprocess.Popen:
    """A process that takes its owner label, prints it and (unless told) ends."""
    code = "from fixtures.cluster.ownership import owner; print(owner(), flush=True)"
    if not exit_after:
        code += "; import sys; sys.stdin.read()"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_a_finished_process_is_gone_a_running_one_is_not():
    """Without /proc (macOS): a run's worker that still runs is never judged gone, so no
    run or worker removes another's containers; one that ended is."""
    running = child_owner(exit_after=False)
    assert running.stdout is not None
    try:
        label = running.stdout.readline().strip()
        assert label.startswith("pgha2:") and _owner_alive(label)
    finally:
        running.communicate("")
    assert not _owner_alive(label)
    ended = child_owner()
    assert not _owner_alive(ended.communicate()[0].strip())


def test_runs_of_another_host_or_temp_directory_or_older_labels_are_left_alone():
    token = _owner().split(":")[2]
    assert _owner_alive(f"pgha2:not-{socket.gethostname()}:{token}")
    assert _owner_alive(f"pgha2:{socket.gethostname()}:{'0' * 32}")  # no lock file here
    assert _owner_alive(f"{socket.gethostname()}:4026531836:123:456")  # the older form


def test_no_proc_is_read(monkeypatch):
    """Whatever way a path is opened, listed or looked at, none is under /proc."""
    import builtins
    import io

    def guarded(real):
        def call(path, *args, **kwargs):
            assert not str(os.fspath(path) if isinstance(path, os.PathLike) else path).startswith(
                "/proc"
            ), path
            return real(path, *args, **kwargs)

        return call

    for module, name in (
        (builtins, "open"),
        (io, "open"),
        (os, "open"),
        (os, "stat"),
        (os, "lstat"),
        (os, "listdir"),
        (os, "scandir"),
        (os, "readlink"),
    ):
        monkeypatch.setattr(module, name, guarded(getattr(module, name)))
    assert _owner_alive(_owner())
    assert _owner_alive("pgha2:elsewhere:abc")


class Vanished:
    """A container of a dead run that another run removed while this one was listing."""

    labels = {LABEL_OWNER: "pgha2:gone:0", LABEL_RUN: "dead"}

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


def test_ports_are_published_where_the_engine_is_and_reached_there():
    from fixtures.cluster.containers import Publishing

    for local in ("localhost", "127.0.0.1", "::1", "[::1]"):
        assert Publishing.for_engine_host(local) == Publishing("127.0.0.1", "127.0.0.1")
        assert not Publishing.for_engine_host(local).remote
    # DOCKER_HOST=tcp://docker:2375 (GitLab's docker:dind), ssh://build-box: that host's
    # loopback is not this machine's.
    elsewhere = Publishing.for_engine_host("docker")
    assert (elsewhere.bind, elsewhere.host, elsewhere.remote) == ("0.0.0.0", "docker", True)
