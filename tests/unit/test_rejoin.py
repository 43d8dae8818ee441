"""Telling which member did not rejoin after a scenario, and why (no Docker needed)."""

from fixtures.faults.scenarios import rejoin_clues, stuck_members


def member(name, role, state, timeline=5):
    return {"name": name, "role": role, "state": state, "timeline": timeline}


def test_a_member_stuck_starting_is_named():
    view = {
        "members": [
            member("node1", "leader", "running"),
            member("node2", "replica", "streaming"),
            member("node3", "replica", "starting", timeline=4),
        ]
    }
    assert stuck_members(view) == ["node3"]


def test_a_replica_streaming_on_an_old_timeline_is_stuck():
    view = {
        "members": [
            member("node1", "leader", "running", 6),
            member("node2", "sync_standby", "streaming", 6),
            member("node3", "replica", "streaming", 5),
        ]
    }
    assert stuck_members(view) == ["node3"]


def test_a_whole_cluster_has_nobody_stuck():
    view = {
        "members": [
            member("node1", "leader", "running"),
            member("node2", "replica", "streaming"),
            member("node3", "sync_standby", "streaming"),
        ]
    }
    assert stuck_members(view) == []


def test_without_a_single_leader_nobody_is_called_stuck():
    view = {
        "members": [member("node1", "replica", "running"), member("node2", "replica", "streaming")]
    }
    assert stuck_members(view) == []


def test_rejoin_clues_keep_patroni_and_pg_rewind_lines_only():
    log = "\n".join(
        [
            "2026-01-01 INFO: no action. I am (node3), a secondary, and following a leader",
            "2026-01-01 INFO: running pg_rewind from node1",
            "pg_rewind: error: unexpected result while fetching remote files: ERROR:  could not "
            'open file ".s.PGSQL.5432" for reading: No such device or address',
            "2026-01-01 FATAL:  requested starting point 0/5000000 on timeline 14 is not in this "
            "server's history",
            "2026-01-01 INFO: Lock owner: node1; I am node3",
        ]
    )
    clues = rejoin_clues(log)
    assert len(clues) == 3
    assert clues[0].endswith("running pg_rewind from node1")
    assert "not in this server's history" in clues[2]


def test_rejoin_clues_are_bounded():
    log = "\n".join(f"ERROR line {i}" for i in range(100))
    assert rejoin_clues(log, limit=5) == [f"ERROR line {i}" for i in range(95, 100)]


def test_alarm_lines_are_tracebacks_and_bug_reports_only():
    from fixtures.cluster.patroni_logs import alarm_lines

    log = "\n".join(
        [
            "2026-01-01 INFO: no action. I am (node1), the leader with the lock",
            "2026-01-01 ERROR: Exception in the main loop",
            "Traceback (most recent call last):",
            '  File "/opt/patroni/lib/python3.11/site-packages/patroni/ha.py", line 1, in run',
            "    self._run_cycle()",
            "KeyError: 'role'",
            "2026-01-01 ERROR: unexpected state, please report it as a BUG",
        ]
    )
    assert alarm_lines(log) == [
        "traceback after '2026-01-01 ERROR: Exception in the main loop': KeyError: 'role'",
        "2026-01-01 ERROR: unexpected state, please report it as a BUG",
    ]


def test_tracebacks_patroni_logs_while_etcd_is_down_are_no_alarm():
    from fixtures.cluster.patroni_logs import alarm_lines

    log = "\n".join(
        [
            "2026-11-27 10:03:22,996 ERROR: get_cluster",
            "Traceback (most recent call last):",
            '  File "/opt/patroni/lib/python3.11/site-packages/patroni/dcs/etcd3.py", line 938',
            "    cluster = loader(path)",
            "              ^^^^^^^^^^^^",
            "patroni.utils.RetryFailedError: Exceeded retry deadline",
            "2026-11-27 10:03:22,997 ERROR: Error communicating with DCS",
        ]
    )
    assert alarm_lines(log) == []


def test_the_rest_api_finding_its_server_down_is_no_alarm():
    """Logged by design while the local server restarts (seen: a replica that stopped on a
    raised max_connections), chained to the connection error."""
    from fixtures.cluster.patroni_logs import alarm_lines

    log = "\n".join(
        [
            "2026-11-27 13:35:49,172 ERROR: get_postgresql_status",
            "Traceback (most recent call last):",
            '  File "/opt/patroni/lib/python3.11/site-packages/patroni/api.py", line 1552',
            "psycopg.OperationalError: connection is bad: connection to server on socket",
            "\tIs the server running locally and accepting connections on that socket?",
            "",
            "The above exception was the direct cause of the following exception:",
            "",
            "Traceback (most recent call last):",
            '  File "/opt/patroni/lib/python3.11/site-packages/patroni/api.py", line 1395',
            "patroni.exceptions.PostgresConnectionException: connection problems",
            "2026-11-27 13:35:49,200 INFO: no action. I am (node3), a secondary",
        ]
    )
    assert alarm_lines(log) == []


ETCD_TIMEOUT = [
    "2026-11-27 14:15:00,751 ERROR:",
    "Traceback (most recent call last):",
    '  File "/usr/lib/python3.11/socket.py", line 720, in readinto',
    "    return self._sock.recv_into(b)",
    "TimeoutError: timed out",
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    "Traceback (most recent call last):",
    '  File "/opt/patroni/lib/python3.11/site-packages/patroni/dcs/etcd.py", line 302',
    "etcd.EtcdException: POST /v3/kv/put request failed",
]


def test_a_chain_is_judged_by_its_last_exception():
    """Seen side by side: an etcd request timed out on a loaded machine; Patroni logs the
    socket's timeout and the etcd request failure it caused, one event."""
    from fixtures.cluster.patroni_logs import alarm_lines

    assert alarm_lines("\n".join([*ETCD_TIMEOUT, "2026-11-27 INFO: no action"])) == []


def test_a_chain_ending_in_a_bug_is_an_alarm_whatever_caused_it():
    from fixtures.cluster.patroni_logs import alarm_lines

    chain = [*ETCD_TIMEOUT[:-1], "KeyError: 'role'", "2026-11-27 INFO: no action"]
    assert alarm_lines("\n".join(chain)) == [
        "traceback after '2026-11-27 14:15:00,751 ERROR:': KeyError: 'role'"
    ]


def test_a_chain_of_three_is_judged_by_its_third_exception():
    from fixtures.cluster.patroni_logs import alarm_lines

    third = [
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/opt/patroni/lib/python3.11/site-packages/patroni/ha.py", line 1',
    ]
    expected = [*ETCD_TIMEOUT, *third, "patroni.exceptions.DCSError: Etcd is not responding"]
    assert alarm_lines("\n".join([*expected, "2026-11-27 INFO: no action"])) == []
    bug = [*ETCD_TIMEOUT, *third, "KeyError: 'role'", "2026-11-27 INFO: no action"]
    assert alarm_lines("\n".join(bug)) == [
        "traceback after '2026-11-27 14:15:00,751 ERROR:': KeyError: 'role'"
    ]


def test_etcd_closing_its_connections_while_it_stops_is_no_alarm_but_a_bad_request_is():
    from fixtures.cluster.patroni_logs import alarm_lines

    def logged(exception):
        return "\n".join(
            [
                "2026-11-27 15:07:59,072 ERROR:",
                "Traceback (most recent call last):",
                '  File "/opt/patroni/lib/python3.11/site-packages/patroni/dcs/etcd3.py", line 1',
                exception,
                "2026-11-27 15:08:00 INFO: no action",
            ]
        )

    closing = (
        "patroni.dcs.etcd3.Etcd3ClientError: <Canceled error: "
        "'grpc: the client connection is closing', code: 1>"
    )
    assert alarm_lines(logged(closing)) == []
    bad = "patroni.dcs.etcd3.InvalidArgument: <InvalidArgument error: 'bad key', code: 3>"
    assert len(alarm_lines(logged(bad))) == 1
