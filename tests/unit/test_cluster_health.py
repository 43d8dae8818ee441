"""What counts as a healthy cluster, judged from Patroni's /cluster view."""

import pytest

from fixtures.cluster.interface import (
    COMMAND_TIMEOUT,
    DIAGNOSTICS_COMMAND_TIMEOUT,
    Cluster,
    CommandResult,
    Credentials,
)


class ViewOnly(Cluster):
    """A cluster known only through a canned /cluster view."""

    scope = "batman"
    credentials = Credentials("postgres", "s3cret-pw", "standby", "r3pl-pw")

    def member_names(self):
        return ["node1", "node2", "node3"]

    def rest_endpoint(self, member):
        raise NotImplementedError

    def pg_endpoint(self, member):
        raise NotImplementedError

    def haproxy_endpoint(self, which):
        raise NotImplementedError

    def etcd_endpoint(self):
        raise NotImplementedError

    def patronictl(self, *args, member=None, timeout=None):
        raise NotImplementedError

    def log_tails(self, lines=30):
        return {"node1": "FATAL: password s3cret-pw was wrong"}


def member(name, role, state, timeline=1):
    return {"name": name, "role": role, "state": state, "timeline": timeline}


HEALTHY = [
    member("node1", "leader", "running"),
    member("node2", "replica", "streaming"),
    member("node3", "sync_standby", "streaming"),
]


def test_one_running_leader_and_streaming_replicas_is_healthy():
    assert ViewOnly().health_problems({"members": HEALTHY}) == []


@pytest.mark.parametrize(
    "members, problem",
    [
        (HEALTHY[:2], "2 members, expected 3"),
        ([member("node1", "replica", "streaming")] + HEALTHY[1:], "0 leaders"),
        (
            [
                member("node1", "leader", "running"),
                member("node2", "leader", "running"),
                HEALTHY[2],
            ],
            "2 leaders",
        ),
        ([member("node1", "leader", "stopped")] + HEALTHY[1:], "leader node1 is stopped"),
        (HEALTHY[:2] + [member("node3", "replica", "starting")], "node3 is replica/starting"),
        (
            HEALTHY[:2] + [member("node3", "replica", "streaming", timeline=2)],
            "node3 on timeline 2, leader on 1",
        ),
    ],
)
def test_unhealthy_views_name_their_problem(members, problem):
    assert problem in ViewOnly().health_problems({"members": members})


def test_diagnostics_never_show_the_passwords():
    text = ViewOnly().diagnostics()
    assert "s3cret-pw" not in text
    assert "FATAL: password *** was wrong" in text


def test_diagnostics_bound_patronictl_which_waits_on_a_stopped_etcd():
    asked = []

    class EtcdDown(ViewOnly):
        def patronictl(self, *args, member=None, timeout=None):
            asked.append((args, timeout))
            return CommandResult(124, "", "patronictl list: no answer in 20s")

    text = EtcdDown().diagnostics()
    assert asked == [(("list",), DIAGNOSTICS_COMMAND_TIMEOUT)]
    assert DIAGNOSTICS_COMMAND_TIMEOUT < COMMAND_TIMEOUT
    assert "patronictl list (exit 124)" in text and "no answer in 20s" in text


class Patroni3View(ViewOnly):
    """Early Patroni 3.x: replicas are "running" in /cluster; the leader's /patroni lists them."""

    def __init__(self, streaming):
        self.streaming = streaming

    def rest(self, member, path, *args, **kwargs):
        class Answer:
            def json(inner):
                return {
                    "role": "master",
                    "replication": [
                        {"application_name": n, "state": "streaming"} for n in self.streaming
                    ],
                }

        assert (member, path) == ("node1", "/patroni")
        return Answer()


def test_running_replicas_count_as_streaming_when_the_leader_lists_them():
    view = {
        "members": [
            member("node1", "leader", "running"),
            member("node2", "replica", "running"),
            member("node3", "replica", "running"),
        ]
    }
    assert Patroni3View(["node2", "node3"]).health_problems(view) == []
    assert "node3 is replica/running" in Patroni3View(["node2"]).health_problems(view)
