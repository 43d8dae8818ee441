"""Parsing HAProxy's stats CSV."""
import pytest

from fixtures.haproxy_stats import parse_status

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
