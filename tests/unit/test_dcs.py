"""Reading Patroni's keys from etcd's v3 API or its v2 store (no etcd needed)."""

import json
from typing import Any

import pytest

from fixtures.cluster.dcs import (
    V2,
    V3,
    EtcdReader,
    EtcdUnreachable,
    ScopeKeys,
    ScopeNotFound,
    flatten_v2,
    v2_answer,
    v2_children,
)

MEMBER = {
    "conn_url": "postgres://172.20.0.3:5432/postgres",
    "api_url": "http://172.20.0.3:8008/patroni",
    "role": "primary",
    "state": "running",
}
# GET /v2/keys/service/dummy/?recursive=true of etcd 3.4, as a homework cluster leaves it.
V2_SCOPE: dict[str, Any] = {
    "action": "get",
    "node": {
        "key": "/service/dummy",
        "dir": True,
        "nodes": [
            {
                "key": "/service/dummy/members",
                "dir": True,
                "nodes": [
                    {"key": "/service/dummy/members/e4532c1afd00", "value": json.dumps(MEMBER)},
                    {"key": "/service/dummy/members/3d0a16948a91", "value": json.dumps(MEMBER)},
                ],
            },
            {"key": "/service/dummy/leader", "value": "e4532c1afd00"},
            {
                "key": "/service/dummy/optime",
                "dir": True,
                "nodes": [{"key": "/service/dummy/optime/leader", "value": "83886240"}],
            },
            {"key": "/service/dummy/config", "value": '{"ttl": 30}'},
        ],
    },
}


def test_v2_directories_are_flattened_relative_to_the_scope():
    keys = flatten_v2(V2_SCOPE["node"], "/service/dummy/")
    assert keys == {
        "members/e4532c1afd00": json.dumps(MEMBER),
        "members/3d0a16948a91": json.dumps(MEMBER),
        "leader": "e4532c1afd00",
        "optime/leader": "83886240",
        "config": '{"ttl": 30}',
    }


def test_members_are_parsed_from_their_keys_only():
    keys = ScopeKeys(V2, flatten_v2(V2_SCOPE["node"], "/service/dummy/"))
    assert sorted(keys.members()) == ["3d0a16948a91", "e4532c1afd00"]
    assert keys.members()["e4532c1afd00"]["api_url"] == MEMBER["api_url"]


def test_scope_names_from_a_v2_directory():
    node = {
        "key": "/service",
        "dir": True,
        "nodes": [{"key": "/service/dummy", "dir": True}, {"key": "/service/batman"}],
    }
    assert v2_children(node) == ["batman", "dummy"]


@pytest.mark.parametrize(
    "status, body, state",
    [
        (200, json.dumps(V2_SCOPE), "found"),
        (
            404,
            '{"errorCode":100,"message":"Key not found","cause":"/service","index":3}',
            "missing",
        ),
        (404, "404 page not found\n", "not-served"),  # etcd 3.4 without --enable-v2, or 3.6
        (200, "[]", "not-served"),
    ],
)
def test_v2_answers_tell_found_missing_and_not_served_apart(status, body, state):
    assert v2_answer(status, body)[0] == state


class StubReader(EtcdReader):
    """An EtcdReader whose two APIs answer as told (a dict, or an exception to raise)."""

    def __init__(self, v3, v2, v3_scopes=(), v2_scopes=()):
        super().__init__("127.0.0.1", 2379)
        self.v3, self.v2 = v3, v2
        self._v3_scopes, self._v2_scopes = list(v3_scopes), list(v2_scopes)

    def v3_keys(self, prefix):
        if isinstance(self.v3, Exception):
            raise self.v3
        return self.v3

    def v2_keys(self, prefix):
        if isinstance(self.v2, Exception):
            raise self.v2
        return self.v2

    def v3_scopes(self):
        return self._v3_scopes

    def v2_scopes(self):
        return self._v2_scopes


def test_v3_keys_win_when_the_scope_is_there():
    found = StubReader({"leader": "node1"}, ("found", {"leader": "x"})).scope_keys("batman")
    assert (found.api, found.keys) == (V3, {"leader": "node1"})


def test_the_v2_store_is_read_when_v3_has_nothing():
    found = StubReader({}, ("found", {"leader": "e4532c1afd00"})).scope_keys("dummy")
    assert (found.api, found.keys) == (V2, {"leader": "e4532c1afd00"})


def test_a_scope_in_neither_api_is_named_with_both_apis_and_their_scopes():
    with pytest.raises(ScopeNotFound) as missing:
        StubReader({}, ("missing", {}), v3_scopes=["batman"], v2_scopes=["dummy"]).scope_keys(
            "nosuchscope"
        )
    text = str(missing.value)
    assert "v3 API" in text and "v2 API" in text and "/service/nosuchscope/" in text
    assert "v3: batman" in text and "v2: dummy" in text


def test_an_etcd_without_v2_says_so():
    with pytest.raises(ScopeNotFound, match="does not serve the v2 API"):
        StubReader({}, ("not-served", {})).scope_keys("dummy")


def test_neither_api_answering_is_unreachable():
    import requests

    with pytest.raises(EtcdUnreachable):
        StubReader(ConnectionError("grpc"), requests.ConnectionError("refused")).scope_keys("x")


def test_ipv6_hosts_are_bracketed_in_urls():
    assert EtcdReader("::1", 2379)._authority == "[::1]:2379"
    assert EtcdReader("127.0.0.1", 2379)._authority == "127.0.0.1:2379"
