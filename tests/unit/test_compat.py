"""Version gating: which Patroni is graded, which SQL a PostgreSQL version gets."""

import pytest

from fixtures.cluster.compat import drop_database, patroni_problem, version_tuple


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
