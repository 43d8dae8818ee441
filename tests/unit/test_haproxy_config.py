"""Rendering HAProxy's configuration from haproxy/haproxy.cfg.template."""

import re

import pytest

from fixtures.cluster import haproxy_config


def sections(text):
    """Map each `listen NAME` section to its lines."""
    result: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        match = re.match(r"^(listen|resolvers|global|defaults)\s*(\S*)", line)
        if match:
            current = match.group(2) or match.group(1)
            result[current] = []
        elif current and line.strip() and not line.lstrip().startswith("#"):
            result[current].append(line.strip())
    return result


def test_both_backends_list_every_node_checked_on_patroni_port():
    parts = sections(haproxy_config.render(["node1", "node2", "node3"]))
    for backend, check in (("primary", "/primary"), ("replicas", "/replica")):
        lines = parts[backend]
        assert f"bind *:{5000 if backend == 'primary' else 5001}" in lines
        assert f"http-check send meth GET uri {check}" in lines
        servers = [line for line in lines if line.startswith("server ")]
        assert servers == [
            f"server node{i} node{i}:5432 maxconn 100 check port 8008" for i in (1, 2, 3)
        ]
    assert "bind *:7000" in parts["stats"]
    assert "stats show-legends" in parts["stats"]  # servers' addresses in the stats CSV


def test_nodes_are_resolved_through_dockers_dns():
    text = haproxy_config.render(["node1"])
    assert "nameserver dns 127.0.0.11:53" in text
    assert text.count("resolvers docker init-addr") == 2


def test_ports_and_check_interval_are_parameters():
    text = haproxy_config.render(["a"], pg_port=6432, api_port=9008, check_interval="2s")
    assert "server a a:6432 maxconn 100 check port 9008" in text
    assert "inter 2s" in text and "${" not in text


@pytest.mark.parametrize("nodes", [[], ["node 1"], ["n1", "n1"], ["bad;name"]])
def test_unusable_node_lists_are_refused(nodes):
    with pytest.raises(ValueError):
        haproxy_config.render(nodes)


def test_the_outage_budgets_use_the_templates_check_settings():
    from fixtures.run.deadlines import SUITE_HAPROXY

    text = haproxy_config.render(["node1", "node2", "node3"])
    settings = (
        f"fastinter {int(SUITE_HAPROXY.fastinter * 1000)}ms "
        f"downinter {int(SUITE_HAPROXY.downinter * 1000)}ms "
        f"rise {SUITE_HAPROXY.rise} fall {SUITE_HAPROXY.fall}"
    )
    assert text.count(settings) == 2, settings


def test_budgets_follow_patronis_timings():
    from fixtures.cluster.settings import PatroniTimings
    from fixtures.run.deadlines import OutageBudgets

    budgets = OutageBudgets(PatroniTimings(ttl=20, loop_wait=2, retry_timeout=5))
    assert budgets.budget("switchover") == budgets.budget("sigterm") == 3.6
    assert budgets.budget("sigkill") == 23.6
    figures = {"write_outage_seconds": 24.0}
    try:
        budgets.check("sigkill", figures)
    except AssertionError as exc:
        assert "exceeds its budget 23.6s" in str(exc)
    else:
        raise AssertionError("an outage over budget passed")
    OutageBudgets(budgets.timings, record_only=True).check("sigkill", figures)
    assert figures["outage_budget_seconds"] == 23.6
