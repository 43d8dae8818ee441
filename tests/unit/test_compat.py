"""Version gating: which Patroni is graded, which SQL a PostgreSQL version gets."""

import pytest

from fixtures.cluster.compat import (
    drop_database,
    patroni_problem,
    patronictl_table_rows,
    version_tuple,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("4.1.5", (4, 1, 5)),
        ("3.0.0rc1", (3, 0, 0)),
        ("1.6.4", (1, 6, 4)),
        ("", ()),
        ("x", ()),
    ],
)
def test_version_tuple(text, expected):
    assert version_tuple(text) == expected


@pytest.mark.parametrize("version", ["2.0.0", "2.1.7", "3.0.0", "3.3.2", "4.0.4", "4.1.5"])
def test_patroni_2_3_and_4_are_graded(version):
    assert patroni_problem("node1", version) is None


def refusal(member: str, version: str | None) -> str:
    """patroni_problem's message for a version that must be refused."""
    problem = patroni_problem(member, version)
    assert problem is not None, f"Patroni {version!r} on {member} was not refused"
    return problem


def test_older_patroni_is_named_in_a_clear_message():
    problem = refusal("e9477f065cf0", "1.6.4")
    assert "e9477f065cf0 runs Patroni 1.6.4" in problem and "2.0 or newer" in problem
    assert "Spilo 2.x" in problem
    assert "does not report its Patroni version" in refusal("node1", None)


def render(statements):
    return [statement.as_string(None) for statement in statements]


def test_drop_database_with_force_from_postgresql_13():
    assert render(drop_database("pgha_suite_1", 150018)) == [
        'DROP DATABASE IF EXISTS "pgha_suite_1" WITH (FORCE)'
    ]


def test_drop_database_before_13_terminates_sessions_first():
    statements = render(drop_database("pgha_suite_1", 120002))
    assert "WITH (FORCE)" not in " ".join(statements)
    assert "pg_terminate_backend" in statements[0] and "'pgha_suite_1'" in statements[0]
    assert statements[1] == 'DROP DATABASE IF EXISTS "pgha_suite_1"'


PATRONICTL_4 = """\
+ Cluster: dummy (7714157239785910303) -+-----------+----+-------------+-----+------------+-----+
| Member       | Host         | Role    | State     | TL | Receive LSN | Lag | Replay LSN | Lag |
+--------------+--------------+---------+-----------+----+-------------+-----+------------+-----+
| 379f0510d4df | 192.168.32.3 | Leader  | running   |  1 |             |     |            |     |
| 44211502000b | 192.168.32.4 | Replica | streaming |  1 |   0/4000060 |   0 |  0/4000060 |   0 |
+--------------+--------------+---------+-----------+----+-------------+-----+------------+-----+
"""
PATRONICTL_2 = """\
+ Cluster: batman (7012345678901234567) ---+----+-----------+
| Member | Host       | Role    | State   | TL | Lag in MB |
+--------+------------+---------+---------+----+-----------+
| node1  | 10.0.0.2   | Leader  | running |  2 |           |
| node2  | 10.0.0.3   | Replica | running |  2 |         0 |
+--------+------------+---------+---------+----+-----------+
"""


@pytest.mark.parametrize("table", [PATRONICTL_4, PATRONICTL_2])
def test_patronictls_table_gives_a_row_per_member(table):
    rows = patronictl_table_rows(table)
    assert [(r["Role"], r["TL"]) for r in rows][0][0] == "Leader"
    assert len(rows) == 2 and all(r["Member"] and r["State"] for r in rows)
    assert patronictl_table_rows("Error: Can't get cluster") == []


PATRONICTL_TAGS = """\
+ Cluster: batman (7012345678901234567) -----+----+-----------------+------------------------+
| Member | Host  | Role    | State   | TL | Pending restart | Pending restart reason |
+--------+-------+---------+---------+----+-----------------+------------------------+
| node1  | n1    | Leader  | running |  2 | *               | max_connections: 1->2  |
|        |       |         |         |    |                 | work_mem: 4MB->8MB     |
| node2  | n2    | Replica | running |  2 | *               | max_connections: 1->2  |
+--------+-------+---------+---------+----+-----------------+------------------------+
"""


def test_a_cell_of_several_lines_stays_with_its_member():
    rows = patronictl_table_rows(PATRONICTL_TAGS)
    assert [r["Member"] for r in rows] == ["node1", "node2"]
    assert rows[0]["Pending restart reason"] == "max_connections: 1->2\nwork_mem: 4MB->8MB"
    assert rows[0]["Role"] == "Leader" and rows[1]["Pending restart"] == "*"
