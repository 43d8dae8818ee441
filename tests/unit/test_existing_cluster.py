"""Grading someone else's cluster: addresses (IPv6 too) and the patronictl configuration."""

import pytest
import yaml

from fixtures.cluster.existing import (
    ExistingCluster,
    TargetError,
    TargetSpec,
    parse_endpoint,
    patronictl_config,
    rest_endpoint_of,
)
from fixtures.cluster.interface import Credentials, Endpoint


def test_ipv6_endpoints_are_parsed_and_written_back_in_brackets():
    endpoint = parse_endpoint("[::1]:2379", "--target-etcd")
    assert endpoint == Endpoint("::1", 2379)
    assert str(endpoint) == "[::1]:2379"
    assert str(parse_endpoint("127.0.0.1:2379", "x")) == "127.0.0.1:2379"


def test_ipv6_rest_urls():
    assert rest_endpoint_of("http://[fd00::5]:8008", "x") == Endpoint("fd00::5", 8008)
    assert f"http://{Endpoint('fd00::5', 8008)}/patroni" == "http://[fd00::5]:8008/patroni"


@pytest.mark.parametrize("text", ["nohost", ":2379", "host:port"])
def test_bad_endpoints_are_refused(text):
    with pytest.raises(TargetError):
        parse_endpoint(text, "--target-etcd")


@pytest.mark.parametrize("api, section", [("v2", "etcd"), ("v3", "etcd3"), (None, "etcd3")])
def test_patronictl_config_uses_the_api_that_holds_the_scope(api, section):
    config = yaml.safe_load(patronictl_config("dummy", Endpoint("127.0.0.1", 2379), api))
    assert config == {"scope": "dummy", section: {"hosts": "127.0.0.1:2379", "use_proxies": True}}


@pytest.mark.parametrize(
    "found, allow_changes, asked",
    [([], False, "observe"), ([], True, "given"), (["node3: REST API does not answer"], True, 0)],
)
def test_a_cluster_found_broken_is_asked_once(monkeypatch, found, allow_changes, asked):
    """Read-only: a moment to settle (observe). Found broken: it had that moment when found,
    so each condition is asked once and the broken part fails its steps at once."""
    credentials = Credentials("postgres", "secret", "standby", "secret")
    spec = TargetSpec(Endpoint("127.0.0.1", 2379), "s", credentials, allow_changes=allow_changes)
    cluster = ExistingCluster(spec)
    monkeypatch.setattr(cluster, "health_as_found", lambda: found)
    timeouts = []
    monkeypatch.setattr(
        "fixtures.cluster.interface.wait_until",
        lambda condition, probe, timeout, interval, diagnostics: timeouts.append(timeout),
    )
    cluster.wait_for("anything", lambda: (False, None), timeout=99)
    expected = {"observe": cluster.deadlines.observe, "given": 99, 0: 0}[asked]
    assert timeouts == [expected]
