"""A student's haproxy.cfg pointed at the suite's nodes (no Docker needed)."""

from pathlib import Path

import pytest

from fixtures.cluster.haproxy_import import HAProxyConfigError, rewrite, sections_of

HOMEWORK = (Path(__file__).resolve().parents[2] / "haproxy" / "homework.cfg").read_text()
NODES = {"node1": "172.30.0.10", "node2": "172.30.0.11", "node3": "172.30.0.12"}


def test_the_homework_config_finds_its_sections_by_port():
    sections = sections_of(HOMEWORK)
    assert {name: (s.ports, s.servers, s.stats) for name, s in sections.items()} == {
        "stats": ([7000], 0, True),
        "batman": ([5000], 3, False),
        "batman2": ([5001], 3, False),
    }


def test_server_lines_point_at_the_nodes_with_the_students_options():
    imported = rewrite(HOMEWORK, NODES)
    servers = [
        line.strip() for line in imported.text.splitlines() if line.strip().startswith("server ")
    ]
    assert (
        servers
        == [f"server {n} {a}:5432 maxconn 100 check port 8008" for n, a in NODES.items()] * 2
    )
    assert "172.17.0.2" not in imported.text
    assert imported.ports == {"rw": 5000, "ro": 5001, "stats": 7000}
    assert imported.section_on(5000) == "batman" and imported.section_on(5001) == "batman2"


def test_everything_but_the_server_lines_stays_as_written():
    imported = rewrite(HOMEWORK, NODES)

    def others(text):
        return [line for line in text.splitlines() if not line.strip().startswith("server ")]

    assert others(imported.text) == others(HOMEWORK)


def test_a_config_without_a_read_only_section_is_refused_with_the_sections_it_has():
    without = HOMEWORK[: HOMEWORK.index("listen batman2")]
    with pytest.raises(HAProxyConfigError, match=r"read-only port 5001 .*batman \[5000\]"):
        rewrite(without, NODES)


def test_a_section_without_servers_is_refused():
    text = "listen rw\n    bind *:5000\nlisten ro\n    bind *:5001\n    server a 1.2.3.4:5432\n"
    with pytest.raises(HAProxyConfigError, match="port 5000 .* no server lines"):
        rewrite(text, NODES)


def test_frontend_and_backend_pairs_and_comments_are_understood():
    text = (
        "frontend rw # read-write\n    bind :5000\n    default_backend primary\n"
        "backend primary\n    option httpchk GET /primary\n"
        "    server a 10.0.0.1:6432 check port 8008 # pgbouncer port\n"
        "listen ro\n    bind 0.0.0.0:5001\n    server b 10.0.0.2 check\n"
    )
    sections = sections_of(text)
    assert sections["rw"].ports == [5000] and sections["rw"].backends == ["primary"]
    assert sections["primary"].servers == 1 and sections["ro"].ports == [5001]
    imported = rewrite(text, NODES)
    # The read-write frontend has no servers itself: its backend has them.
    assert imported.section_on(5000) == "primary" and imported.section_on(5001) == "ro"
    assert "    server node1 172.30.0.10:6432 check port 8008" in imported.text
    assert "    server node1 172.30.0.10:5432 check" in imported.text
    assert "stats" not in imported.ports
