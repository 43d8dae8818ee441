"""Parsing HAProxy's stats CSV."""

import pytest

from fixtures.cluster.haproxy_stats import parse_status

SAMPLE = """# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight
stats,FRONTEND,,,1,1,200,3,0,0,0,0,0,,,,,OPEN,
primary,FRONTEND,,,0,0,200,0,0,0,0,0,0,,,,,OPEN,
primary,node1,0,0,0,0,100,0,0,0,,0,,0,0,0,0,DOWN,1
primary,node2,0,0,0,0,100,0,0,0,,0,,0,0,0,0,UP,1
primary,BACKEND,0,0,0,0,20,0,0,0,0,0,,0,0,0,0,UP,1
replicas,node1,0,0,0,0,100,0,0,0,,0,,0,0,0,0,UP,1
replicas,node2,0,0,0,0,100,0,0,0,,0,,0,0,0,0,DOWN 1/2,1
"""


def test_servers_by_backend_without_frontend_and_backend_rows():
    assert parse_status(SAMPLE) == {
        "primary": {"node1": "DOWN", "node2": "UP"},
        "replicas": {"node1": "UP", "node2": "DOWN 1/2"},
    }


def test_text_that_is_not_stats_csv_is_refused():
    with pytest.raises(ValueError):
        parse_status("<html>503</html>")


# ---------------------------------------------------- any HAProxy (Patroni's sample)
from pathlib import Path  # noqa: E402

from fixtures.cluster.haproxy_stats import Section, Server, parse_sections, section_reached  # noqa: E402

DATA = Path(__file__).parent / "data"
# Real stats pages of HAProxy 2.6 running the homework's haproxy.cfg (Patroni's sample:
# `listen batman` on 5000 expecting 200, `listen batman2` on 5001 expecting 503), without
# and with `stats show-legends`; the leader is 172.20.0.4.
SEED = (DATA / "haproxy_seed_sample.csv").read_text()
SEED_LEGENDS = (DATA / "haproxy_seed_show_legends.csv").read_text()


def test_sections_of_the_homework_config_without_relying_on_names():
    sections = parse_sections(SEED)
    assert sorted(sections) == ["batman", "batman2", "stats"]
    rw, ro = sections["batman"], sections["batman2"]
    assert [s.name for s in rw.up()] == ["postgresql_172.20.0.4_5432"]
    assert sorted(s.name for s in ro.up()) == [
        "postgresql_172.20.0.3_5432",
        "postgresql_172.20.0.5_5432",
    ]
    assert all(s.addr == "" for s in rw.servers.values())  # no show-legends: no addresses
    assert (rw.backend_sessions, ro.backend_sessions) == (1, 2)


def test_what_each_section_checks_is_described_from_its_servers_answers():
    sections = parse_sections(SEED)
    assert (
        sections["batman"]
        .describe()
        .startswith(
            "batman: HTTP health check; 1 UP (check answered 200), 2 DOWN (check answered 503)"
        )
    )
    assert (
        sections["batman2"]
        .describe()
        .startswith(
            "batman2: HTTP health check; 2 UP (check answered 503), 1 DOWN (check answered 200)"
        )
    )
    assert "no `stats show-legends`" in sections["batman"].describe()


def test_show_legends_gives_each_servers_address():
    rw = parse_sections(SEED_LEGENDS)["batman"]
    assert [(s.addr, s.host) for s in rw.up()] == [("172.20.0.4:5432", "172.20.0.4")]
    assert "postgresql_172.20.0.4_5432=172.20.0.4:5432" in rw.describe()


def test_a_tcp_only_check_is_named():
    section = Section("pg", servers={"a": Server("a", "UP", check_status="L4OK")})
    assert "TCP/SSL connect check only" in section.describe()


@pytest.mark.parametrize(
    "status, up",
    [
        ("UP", True),
        ("UP 1/3", True),
        ("DOWN", False),
        ("DOWN 1/2", False),
        ("MAINT", False),
        ("no check", False),
    ],
)
def test_a_server_takes_connections_only_while_up(status, up):
    assert Server("s", status).up is up


def with_sessions(**sessions):
    return {
        name: Section(name, backend_sessions=count, servers={"s": Server("s", "UP")})
        for name, count in sessions.items()
    }


def test_the_section_behind_a_port_is_the_one_whose_sessions_rose():
    before = with_sessions(batman=1, batman2=2)
    assert section_reached(before, with_sessions(batman=4, batman2=2), 3) == "batman"
    assert section_reached(before, with_sessions(batman=2, batman2=5), 3) == "batman2"


def test_other_clients_traffic_is_told_apart_by_the_exact_count():
    before = with_sessions(a=0, b=0)
    assert section_reached(before, with_sessions(a=3, b=7), 3) == "a"


def test_no_section_or_several_equally_likely_is_an_error_naming_the_counts():
    before = with_sessions(a=0, b=0)
    with pytest.raises(ValueError, match="'a': 0"):
        section_reached(before, with_sessions(a=0, b=1), 3)
    with pytest.raises(ValueError):
        section_reached(before, with_sessions(a=3, b=3), 3)


def test_a_check_in_progress_keeps_its_last_result():
    """HAProxy marks a check in progress with "* " before the last result's status."""
    text = (
        "# pxname,svname,status,check_status,check_code\n"
        "batman,n1,DOWN,* L4TOUT,\n"
        "batman,n2,UP,* L7OK,200\n"
    )
    servers = parse_sections(text)["batman"].servers
    assert servers["n1"].check_status == "L4TOUT"
    assert servers["n2"].check_status == "L7OK"
    assert parse_sections(text)["batman"].describe().startswith("batman: HTTP health check")
