"""Grading the homework as a student builds it (../shared/seed/), read-only and then acting.

Built here with plain Docker API calls and no suite fixture, as the seed builds it:
etcd with its v2 API, three Spilo-style nodes told only ``ETCD_HOST`` (Patroni's
etcd v2 module) and no host name (member names are container ids), Patroni's
sample haproxy.cfg as the seed wrote it with the nodes' addresses filled in; then
the student's steps: replicatest.words with the homework's rows and some of the
student's own, a failover with patronictl, a switchover over REST, max_connections
changed with `patronictl edit-config` and applied with `patronictl restart`.

A teacher's pytest grades it through 127.0.0.1-published ports only: first
read-only (every step passes, nothing written: no database, table or row appears,
no tuple is inserted, updated or deleted), then with --allow-changes (every step
passes; the student's rows are byte for byte as they were, the suite's own
database is gone, leader and configuration are as found). Everything started
here is removed at the end, whatever happens.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from psycopg import sql

from fixtures import lanes
from fixtures.child_run import HOMEWORK_MODULES, ROOT, read_junit, run_pytest
from fixtures.cluster import SWITCHOVER_ANSWER_TIMEOUT, one_row
from fixtures.docker_cluster import (
    LABEL_KEEP,
    LABEL_OWNER,
    LABEL_RUN,
    LABEL_SUITE,
    DockerUnavailable,
    _owner,
    docker_client,
)
from fixtures.plugin import stop_run
from fixtures.waiting import wait_until

pytestmark = [
    pytest.mark.order(9),
    pytest.mark.cluster,
    pytest.mark.homework(
        "grading: a homework cluster built as in the seed, read-only and with --allow-changes"
    ),
]

HOMEWORK_STEPS = {"1-6, 9", "7-8", "10", "11", "12", "13"}  # as the step labels begin
LOOPBACK = "127.0.0.1"
SCOPE = "dummy"  # Spilo's default: the seed set no SCOPE
PASSWORD = "zalando"  # Spilo's default superuser password, which the seed used
STUDENT_ROWS = ("abarakadabra", "boo", "collins", "ёжик", "trailing space ")
MAX_CONNECTIONS = 150  # the student's step 13 (the seed went from 1000 to 200)
# Patroni's timings: Spilo's defaults (ttl 30, loop_wait 10) make every step slower;
# Spilo's own tests shorten them the same way. Nothing else differs from the seed.
SPILO_CONFIGURATION = "{bootstrap: {dcs: {ttl: 20, loop_wait: 2, retry_timeout: 5}}}"

# The seed's haproxy.cfg (step 12) as the student wrote it, kept in the repository.
SEED_HAPROXY_CFG = ROOT / "haproxy" / "homework.cfg"
SEED_ADDRESSES = ("172.17.0.2", "172.17.0.3", "172.17.0.4")  # the student's containers


def seed_haproxy_cfg(addresses: list[str]) -> str:
    """The seed's file with its three node addresses replaced by ``addresses``, one more
    server line per section for each further node; nothing else changed."""
    text = SEED_HAPROXY_CFG.read_text()
    assert all(text.count(f"{a}:5432 ") == 2 for a in SEED_ADDRESSES), "seed file changed"
    placeholders = [f"@node{i}@" for i in range(len(SEED_ADDRESSES))]
    for seed, placeholder in zip(SEED_ADDRESSES, placeholders):
        text = text.replace(seed, placeholder)
    lines = []
    for line in text.splitlines():
        lines.append(line)
        if placeholders[-1] in line:  # the last server line of a section: add the others
            lines += [
                line.replace(placeholders[-1], f"@node{i}@")
                for i in range(len(SEED_ADDRESSES), len(addresses))
            ]
    text = "\n".join(lines) + "\n"
    for i, address in enumerate(addresses):
        text = text.replace(f"@node{i}@", address)
    return text


# ------------------------------------------------------------ the student's cluster
class HomeworkCluster:
    """The containers of one homework cluster, reached only through 127.0.0.1 ports."""

    def __init__(self, client, run_id: str, size: int = 3) -> None:
        self.client = client
        self.run_id = run_id
        self.size = size
        # The suite's labels: a later run removes what a killed run of this module left.
        self.labels = {
            LABEL_SUITE: "true",
            LABEL_RUN: run_id,
            LABEL_OWNER: _owner(),
            LABEL_KEEP: "false",
        }
        # docker-py objects (the library is untyped); None until start() or start_haproxy().
        self.network: Any = None
        self.etcd: Any = None
        self.nodes: dict[str, Any] = {}  # member name (container id) -> container
        self.haproxy: Any = None

    # ------------------------------------------------------------ addresses
    def port(self, container, port: int) -> int:
        container.reload()
        for binding in container.attrs["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []:
            if binding.get("HostIp") == LOOPBACK:
                return int(binding["HostPort"])
        raise RuntimeError(f"{container.name}: {port} not published on {LOOPBACK}")

    def address(self, container) -> str:
        """The container's address on the homework network (used inside it, never from here)."""
        container.reload()
        return container.attrs["NetworkSettings"]["Networks"][self.network.name]["IPAddress"]

    def rest(self, member: str, path: str, method: str = "GET", timeout: float = 10, **kwargs):
        url = f"http://{LOOPBACK}:{self.port(self.nodes[member], 8008)}{path}"
        return requests.request(method, url, timeout=timeout, **kwargs)

    def connect(self, member: str, dbname: str = "postgres"):
        return psycopg.connect(
            host=LOOPBACK,
            port=self.port(self.nodes[member], 5432),
            dbname=dbname,
            user="postgres",
            password=PASSWORD,
            sslmode="require",
            connect_timeout=5,
            autocommit=True,
            options="-c default_transaction_read_only=on",
        )

    def exec(self, member: str, *cmd: str) -> str:
        code, output = self.nodes[member].exec_run(list(cmd))
        text = output.decode(errors="replace")
        assert code == 0, f"{' '.join(cmd)} in {member}: exit {code}\n{text}"
        return text

    def view(self) -> dict:
        for member in self.nodes:
            try:
                return self.rest(member, "/cluster").json()
            except requests.RequestException:
                continue
        raise ConnectionError("no member answers /cluster")

    def leader(self):
        leaders = [m["name"] for m in self.view()["members"] if m["role"] == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def wait_settled(self, leader=None, timeout: float = 120) -> str:
        """One leader (``leader`` when given), every other member streaming on its timeline."""

        def probe():
            members = self.view()["members"]
            leaders = [m for m in members if m["role"] == "leader" and m["state"] == "running"]
            if len(leaders) != 1 or (leader and leaders[0]["name"] != leader):
                return False, members
            others = [m for m in members if m is not leaders[0]]
            ok = len(members) == len(self.nodes) and all(
                m["state"] == "streaming" and m["timeline"] == leaders[0]["timeline"]
                for m in others
            )
            return ok, leaders[0]["name"] if ok else members

        return wait_until(
            f"the homework cluster to settle (leader {leader or 'any'}, replicas streaming)",
            probe,
            timeout=timeout,
        )

    # ------------------------------------------------------------ building
    def start(self) -> None:
        self.network = self.client.networks.create(
            f"pgha-{self.run_id}-homework", labels=self.labels
        )
        # The seed ran etcd on the host; here it is a container. It advertises itself as
        # http://etcd:2379 (the image's command), which Patroni's v2 client looks up.
        self.etcd = self.client.containers.run(
            "pgha/etcd:local",
            detach=True,
            name=f"pgha-{self.run_id}-etcd",
            labels=self.labels,
            **lanes.cpu_shares(),
            network=self.network.name,
            ports={"2379/tcp": (LOOPBACK, None)},
            networking_config={
                self.network.name: self.client.api.create_endpoint_config(aliases=["etcd"])
            },
        )
        wait_until(
            "the homework's etcd to answer",
            lambda: (
                requests.get(
                    f"http://{LOOPBACK}:{self.port(self.etcd, 2379)}/health", timeout=2
                ).ok,
                "no answer",
            ),
            timeout=60,
            interval=0.5,
        )
        etcd_host = self.address(self.etcd)
        for i in range(1, self.size + 1):  # docker run -e ETCD_HOST=... --name myspiloN
            container = self.client.containers.run(
                "pgha/node:local",
                detach=True,
                name=f"pgha-{self.run_id}-myspilo{i}",
                labels=self.labels,
                **lanes.cpu_shares(),
                network=self.network.name,
                environment={"ETCD_HOST": etcd_host, "SPILO_CONFIGURATION": SPILO_CONFIGURATION},
                ports={"5432/tcp": (LOOPBACK, None), "8008/tcp": (LOOPBACK, None)},
            )
            container.reload()
            self.nodes[container.attrs["Config"]["Hostname"]] = container
        self.wait_settled(timeout=180)

    def start_haproxy(self) -> None:
        """The seed's haproxy.cfg, with the nodes' addresses on the homework network."""
        config = seed_haproxy_cfg([self.address(c) for c in self.nodes.values()]).encode()
        self.haproxy = self.client.containers.create(
            "pgha/haproxy:local",
            name=f"pgha-{self.run_id}-haproxy",
            labels=self.labels,
            **lanes.cpu_shares(),
            network=self.network.name,
            ports={f"{p}/tcp": (LOOPBACK, None) for p in (5000, 5001, 7000)},
        )
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            info = tarfile.TarInfo("haproxy.cfg")
            info.size = len(config)
            tar.addfile(info, io.BytesIO(config))
        self.haproxy.put_archive("/usr/local/etc/haproxy", archive.getvalue())
        self.haproxy.start()

    def stats_csv(self) -> str:
        return requests.get(
            f"http://{LOOPBACK}:{self.port(self.haproxy, 7000)}/;csv", timeout=3
        ).text

    def remove(self) -> list[str]:
        """Remove every container and the network of this run (by label too); what failed."""
        errors = []
        for container in self.client.containers.list(
            all=True, filters={"label": f"{LABEL_RUN}={self.run_id}"}
        ):
            try:
                container.remove(force=True, v=True)
            except Exception as exc:
                errors.append(f"{container.name}: {exc}")
        for network in self.client.networks.list(filters={"label": f"{LABEL_RUN}={self.run_id}"}):
            try:
                network.remove()
            except Exception as exc:
                errors.append(f"{network.name}: {exc}")
        return errors


def do_the_homework(hw: HomeworkCluster) -> dict:
    """The student's steps 7, 10, 11 and 13 as the seed did them; returns what was done."""
    first = hw.wait_settled()

    # Step 7: psql in the leader's container; the homework's rows and some of the student's.
    def psql(*args: str) -> str:
        return hw.exec(first, "psql", "-U", "postgres", *args)

    psql("-c", "CREATE DATABASE replicatest")
    psql(
        "-d",
        "replicatest",
        "-c",
        "CREATE TABLE IF NOT EXISTS words (word varchar(40) NOT NULL, "
        "CONSTRAINT uword UNIQUE(word))",
    )
    values = ", ".join("('" + word + "')" for word in STUDENT_ROWS)
    psql("-d", "replicatest", "-c", f"INSERT INTO words (word) VALUES {values}")
    # Step 10: patronictl failover inside the leader's container.
    candidate = sorted(name for name in hw.nodes if name != first)[0]
    hw.exec(first, "patronictl", "failover", "--candidate", candidate, "--force")
    hw.wait_settled(leader=candidate)
    # Step 11: switchover back over the REST API, leader and candidate named.
    answer = hw.rest(
        candidate,
        "/switchover",
        method="POST",
        json={"leader": candidate, "candidate": first},
        timeout=SWITCHOVER_ANSWER_TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    hw.wait_settled(leader=first)
    # Step 13: a parameter that needs a restart, then patronictl restart.
    hw.exec(
        first, "patronictl", "edit-config", "-p", f"max_connections={MAX_CONNECTIONS}", "--force"
    )

    def pending():
        flags = {m: hw.rest(m, "/patroni").json().get("pending_restart", False) for m in hw.nodes}
        return all(flags.values()), flags

    wait_until("max_connections to be pending restart on every member", pending, timeout=60)
    hw.exec(first, "patronictl", "restart", SCOPE, "--force")

    def applied():
        values = {}
        for member in hw.nodes:
            with hw.connect(member) as conn:
                values[member] = conn.execute("SHOW max_connections").fetchone()[0]
        flags = [hw.rest(m, "/patroni").json().get("pending_restart", False) for m in hw.nodes]
        return set(values.values()) == {str(MAX_CONNECTIONS)} and not any(flags), values

    wait_until(
        f"max_connections {MAX_CONNECTIONS} everywhere, no restart pending", applied, timeout=120
    )
    hw.wait_settled(leader=first)
    return {"leader": first}


# ------------------------------------------------------------------ observing it
def snapshot(hw: HomeworkCluster) -> dict:
    """What a grader must not change, read on every member (read-only transactions).

    Databases; per database its tables, views, sequences with row counts; the
    student's rows as bytes with their xmin and ctid; on the leader each table's
    count of tuples ever inserted, updated and deleted; leader and /config.
    """
    leader = hw.leader()
    found = {"leader": leader, "config": hw.rest(leader, "/config").json(), "members": {}}
    for member in sorted(hw.nodes):
        seen = {}
        with hw.connect(member) as conn:
            databases = [
                r[0]
                for r in conn.execute(
                    "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1"
                )
            ]
            seen["databases"] = [
                r[0] for r in conn.execute("SELECT datname FROM pg_database ORDER BY 1")
            ]
        for database in databases:
            with hw.connect(member, dbname=database) as conn:
                relations = conn.execute(
                    "SELECT n.nspname, c.relname, c.relkind FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
                ).fetchall()
                counted = []
                for schema, name, kind in relations:
                    rows = None
                    if kind in ("r", "p", "m"):
                        rows = conn.execute(
                            sql.SQL("SELECT count(*) FROM {}.{}").format(
                                sql.Identifier(schema), sql.Identifier(name)
                            )
                        ).fetchone()[0]
                    counted.append((schema, name, kind, rows))
                seen[f"relations in {database}"] = counted
                if member == leader:
                    seen[f"tuple counters in {database}"] = conn.execute(
                        "SELECT schemaname, relname, n_tup_ins, n_tup_upd, n_tup_del "
                        "FROM pg_stat_user_tables ORDER BY 1, 2"
                    ).fetchall()
                if database == "replicatest":
                    seen["student's rows"] = conn.execute(
                        "SELECT xmin::text, ctid::text, convert_to(word, 'UTF8') FROM words "
                        "ORDER BY 3"
                    ).fetchall()
        found["members"][member] = seen
    return found


def without_counters(found: dict) -> dict:
    """The snapshot without the leader's tuple counters (a restart or promotion resets them)."""
    return {
        **found,
        "members": {
            m: {k: v for k, v in seen.items() if not k.startswith("tuple counters")}
            for m, seen in found["members"].items()
        },
    }


def target_args(hw: HomeworkCluster) -> list[str]:
    """The options a teacher gives: etcd, each member's REST and PostgreSQL, HAProxy,
    patronictl inside a node. Only 127.0.0.1-published ports."""
    args = [
        "--scope",
        SCOPE,
        "--target-etcd",
        f"{LOOPBACK}:{hw.port(hw.etcd, 2379)}",
        "--target-haproxy",
        LOOPBACK,
        "--target-haproxy-ports",
        ",".join(str(hw.port(hw.haproxy, p)) for p in (5000, 5001, 7000)),
        "--target-patronictl",
        f"docker exec {next(iter(hw.nodes.values())).name} patronictl",
    ]
    for name, container in hw.nodes.items():
        args += [
            "--target-member",
            f"{name}=http://{LOOPBACK}:{hw.port(container, 8008)}",
            "--target-pg",
            f"{name}={LOOPBACK}:{hw.port(container, 5432)}",
        ]
    return args


def grade(hw: HomeworkCluster, tmp_path: Path, *extra: str) -> dict:
    """A teacher's pytest run against the homework cluster; its outcomes and properties."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGHA_")}  # Spilo defaults
    xml = tmp_path / "junit.xml"
    started = time.monotonic()
    done = run_pytest([*HOMEWORK_MODULES, *target_args(hw), *extra], xml, env, 900)
    tests = {}
    if xml.exists():
        for case in read_junit(xml):
            tests[case.name] = {"outcome": case.outcome, "properties": case.properties}
    return {
        "tests": tests,
        "seconds": round(time.monotonic() - started, 1),
        "output": done.stdout[-4000:] + done.stderr[-2000:],
        "report": (tmp_path / "report.md").read_text() if (tmp_path / "report.md").exists() else "",
    }


def step_verdicts(run: dict) -> dict[str, str]:
    """PASS / FAIL / SKIP per homework step, as the grading report decides them."""
    outcomes: dict[str, set] = {}
    for test in run["tests"].values():
        step = (test["properties"].get("homework_step") or "").split(":")[0]
        outcomes.setdefault(step, set()).add(test["outcome"])
    return {
        step: "FAIL" if found & {"failed"} else "SKIP" if found == {"skipped"} else "PASS"
        for step, found in outcomes.items()
    }


# ----------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def homework_cluster(own_clusters, progress, request):
    try:
        client = docker_client()
    except DockerUnavailable as exc:
        stop_run(request.session, f"no Docker daemon: {exc}")
    hw = HomeworkCluster(client, uuid.uuid4().hex[:8])
    try:
        progress(f"homework {hw.run_id}: etcd (v2) and three nodes with ETCD_HOST, as the seed")
        hw.start()
        lanes.cluster_started(request.node.nodeid)  # before the steps: the others may start
        # HAProxy runs through the steps, as it would for a student who set it up early: its
        # checks (rise 2 of inter 3s) have found the leader by the time the steps are done.
        hw.start_haproxy()
        progress(f"homework {hw.run_id}: the seed's HAProxy and the student's steps 7, 10, 11, 13")
        done = do_the_homework(hw)
        wait_until(
            "the seed's HAProxy to route 5000 to the leader and 5001 to a replica",
            lambda: (_routes_to(hw, done["leader"]), hw.stats_csv()),
            timeout=60,
        )
        yield hw
    finally:
        progress(f"homework {hw.run_id}: removing its containers and network")
        errors = hw.remove()
        client.close()
        assert not errors, f"could not remove everything of homework {hw.run_id}: {errors}"


def _routes_to(hw: HomeworkCluster, leader: str) -> bool:
    """5000 reaches ``leader`` and 5001 a replica (asked of the servers themselves)."""
    in_recovery = {}
    try:
        for port in (5000, 5001):
            with psycopg.connect(
                host=LOOPBACK,
                port=hw.port(hw.haproxy, port),
                user="postgres",
                password=PASSWORD,
                sslmode="require",
                connect_timeout=3,
                dbname="postgres",
            ) as conn:
                in_recovery[port] = one_row(conn.execute("SELECT pg_is_in_recovery()"))[0]
    except psycopg.Error:
        return False
    return in_recovery == {5000: False, 5001: True} and hw.leader() == leader


@pytest.fixture(scope="module")
def as_found(homework_cluster):
    return snapshot(homework_cluster)


@pytest.fixture(scope="module")
def read_only_run(homework_cluster, as_found, tmp_path_factory, progress):
    progress(f"homework {homework_cluster.run_id}: grading read-only")
    run = grade(homework_cluster, tmp_path_factory.mktemp("read-only"))
    return {**run, "after": snapshot(homework_cluster)}


@pytest.fixture(scope="module")
def acting_run(homework_cluster, read_only_run, tmp_path_factory, progress):
    progress(f"homework {homework_cluster.run_id}: grading with --allow-changes")
    run = grade(homework_cluster, tmp_path_factory.mktemp("allow-changes"), "--allow-changes")
    return {**run, "after": snapshot(homework_cluster)}


# -------------------------------------------------------------------------- tests
def test_read_only_grading_passes_every_homework_step(read_only_run, record_property, evidence):
    """Read-only: every homework step PASS, acting tests skipped with the reason, none failed."""
    run = read_only_run
    evidence("grading report (read-only run)", run["report"][:6000])
    record_property("read_only_run_seconds", run["seconds"])
    assert run["tests"], f"the grading run produced no report:\n{run['output']}"
    failed = sorted(t for t, r in run["tests"].items() if r["outcome"] == "failed")
    assert not failed, f"failed when grading read-only: {failed}\n{run['output']}"
    verdicts = step_verdicts(run)
    assert {s: verdicts.get(s) for s in HOMEWORK_STEPS} == dict.fromkeys(HOMEWORK_STEPS, "PASS"), (
        verdicts
    )


def test_read_only_grading_shows_the_students_rows_and_haproxy_servers(read_only_run):
    """Steps 7-8 show the student's own rows, step 12 the seed's sections and what they check."""
    props = {
        name: value
        for test in read_only_run["tests"].values()
        for name, value in test["properties"].items()
    }
    rows = next((v for k, v in props.items() if k.startswith("evidence: replicatest.words")), "")
    assert all(word.strip() in rows for word in STUDENT_ROWS), rows
    sections = props.get("evidence: HAProxy sections (read-write, read-only)", "")
    # Which servers are UP is what routes clients; a check still in flight on a loaded
    # machine shows as code 0 beside the answers ("check answered 0/503") and is no fault.
    assert re.search(
        r"batman: HTTP health check; 1 UP \(check answered [^)]*\b200\b[^)]*\), 2 DOWN", sections
    ), sections
    assert re.search(
        r"batman2: HTTP health check; 2 UP \(check answered [^)]*\b503\b[^)]*\), 1 DOWN", sections
    ), sections


def test_read_only_grading_writes_nothing(as_found, read_only_run):
    """No database, table or row appeared or changed on any member; the leader counted no
    insert, update or delete; leader and configuration unchanged."""
    after = read_only_run["after"]
    for member, seen in as_found["members"].items():
        for key, value in seen.items():
            assert after["members"][member].get(key) == value, (
                f"{member}: {key} changed\nbefore: {value}\n"
                f"after: {after['members'][member].get(key)}"
            )
    assert (after["leader"], after["config"]) == (as_found["leader"], as_found["config"])


def test_grading_with_changes_passes_every_homework_test(acting_run, record_property, evidence):
    """--allow-changes: every test of the homework modules runs and passes."""
    run = acting_run
    evidence("grading report (--allow-changes run)", run["report"][:6000])
    record_property("allow_changes_run_seconds", run["seconds"])
    assert run["tests"], f"the grading run produced no report:\n{run['output']}"
    not_passed = {t: r["outcome"] for t, r in run["tests"].items() if r["outcome"] != "passed"}
    assert not not_passed, f"{not_passed}\n{run['output']}"
    assert {s: v for s, v in step_verdicts(run).items() if s in HOMEWORK_STEPS} == dict.fromkeys(
        HOMEWORK_STEPS, "PASS"
    )


def test_grading_with_changes_leaves_the_cluster_as_found(as_found, acting_run):
    """The student's rows byte for byte (and the same row versions) on every member; the same
    databases, tables and row counts (the suite's own database dropped); leader and
    configuration as found."""
    after = without_counters(acting_run["after"])
    found = without_counters(as_found)
    for member, seen in found["members"].items():
        assert after["members"][member]["student's rows"] == seen["student's rows"], member
        assert after["members"][member] == seen, (
            f"{member} differs from how it was found:\n{json.dumps(seen, default=str)}\n"
            f"{json.dumps(after['members'][member], default=str)}"
        )
    assert after["leader"] == found["leader"], "grading left another leader in charge"
    assert after["config"] == found["config"], "grading left its configuration changes behind"
