"""Turn Spilo's environment contract into a Patroni configuration and start Patroni.

This is the entrypoint of the suite's Spilo-compatible node image. The pure
functions at the top (``build_config`` and its helpers) need nothing but the
standard library and PyYAML, so the suite's unit tests import them directly.
``main`` does the side effects: writes ``/run/postgres.yml``, the certificate
and the symlinks Spilo users expect, drops to the ``postgres`` user and execs
Patroni, the child of the image's init process (tini forwards ``docker stop``'s
SIGTERM to it, so the leader key is released).
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import yaml

CONFIG_PATH = "/run/postgres.yml"
PGHOME = "/home/postgres"
PGDATA_DEFAULT = PGHOME + "/pgdata/pgroot/data"
SOCKET_DIR = "/var/run/postgresql"
CERT_DIR = "/run/certs"

# DCS variable prefixes as Spilo reads them: ETCD3_* selects etcd's v3 API,
# ETCD_* the v2 API. The longer prefix must be tried first.
DCS_PREFIXES = (("ETCD3_", "etcd3"), ("ETCD_", "etcd"))


class ConfigError(ValueError):
    """The environment cannot be turned into a working Patroni configuration."""


def deep_merge(base: dict, override: Mapping) -> dict:
    """Return ``base`` with ``override`` merged in; values from ``override`` win."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def dcs_section(env: Mapping[str, str]) -> dict:
    """Collect ``ETCD3_HOST``-style variables into Patroni's DCS sections."""
    sections: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        for prefix, section in DCS_PREFIXES:
            if name.startswith(prefix):
                param = name[len(prefix) :].lower()
                if param:
                    sections.setdefault(section, {})[param] = value
                break
    if not sections:
        raise ConfigError(
            "no DCS configured: set ETCD3_HOST or ETCD3_HOSTS (etcd v3 API), "
            "or ETCD_HOST / ETCD_HOSTS (v2 API). Unlike Spilo, this image has no "
            "private etcd to fall back on."
        )
    return sections


def pg_hba(env: Mapping[str, str], standby_user: str) -> list[str]:
    """Spilo's pg_hba: local trust, md5 on loopback, SSL required for remote clients."""
    remote_non_ssl = (
        "host all all all md5" if env.get("ALLOW_NOSSL") else "hostnossl all all all reject"
    )
    return [
        "local all all trust",
        "host all all 127.0.0.1/32 md5",
        "host all all ::1/128 md5",
        f"local replication {standby_user} trust",
        f"hostssl replication {standby_user} all md5",
        remote_non_ssl,
        "hostssl all all all md5",
    ]


def bootstrap_dcs() -> dict:
    """The cluster-wide settings Spilo bootstraps with (Spilo's configure_spilo.py defaults)."""
    return {
        "ttl": 30,
        "loop_wait": 10,
        "retry_timeout": 10,
        "maximum_lag_on_failover": 33554432,
        "postgresql": {
            "use_pg_rewind": True,
            "use_slots": True,
            "parameters": {
                "wal_level": "hot_standby",
                "wal_log_hints": "on",
                "max_wal_senders": 10,
                "max_replication_slots": 10,
                "hot_standby": "on",
                "max_connections": 100,
                "archive_mode": "on",
                # No backup target: archive nothing, but keep archive_mode on as Spilo does.
                "archive_command": "/bin/true",
                "log_min_duration_statement": -1,
            },
        },
    }


def build_config(
    env: Mapping[str, str], hostname: str, address: str, bin_dir: str
) -> dict[str, Any]:
    """The Patroni configuration for this node, Spilo's defaults with the user's values on top."""
    pgport = int(env.get("PGPORT", "5432"))
    apiport = int(env.get("APIPORT", "8008"))
    superuser = env.get("PGUSER_SUPERUSER", "postgres")
    standby = env.get("PGUSER_STANDBY", "standby")
    pgdata = env.get("PGDATA", PGDATA_DEFAULT)

    config: dict[str, Any] = {
        "scope": env.get("SCOPE", "dummy"),
        "name": hostname,
        "namespace": "/service/",
        "restapi": {
            "listen": f"0.0.0.0:{apiport}",
            "connect_address": f"{address}:{apiport}",
        },
        "bootstrap": {
            "dcs": bootstrap_dcs(),
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
        },
        "postgresql": {
            "listen": f"*:{pgport}",
            "connect_address": f"{address}:{pgport}",
            "data_dir": pgdata,
            "bin_dir": bin_dir,
            "pgpass": SOCKET_DIR + "/pgpass",
            "use_unix_socket": True,
            "authentication": {
                "superuser": {
                    "username": superuser,
                    "password": env.get("PGPASSWORD_SUPERUSER", "zalando"),
                },
                "replication": {
                    "username": standby,
                    "password": env.get("PGPASSWORD_STANDBY", "standby"),
                },
            },
            "parameters": {
                "unix_socket_directories": SOCKET_DIR,
                "ssl": "on",
                "ssl_cert_file": f"{CERT_DIR}/server.crt",
                "ssl_key_file": f"{CERT_DIR}/server.key",
            },
            "pg_hba": pg_hba(env, standby),
            "create_replica_methods": ["basebackup"],
            "basebackup": {"checkpoint": "fast"},
        },
    }
    config.update(dcs_section(env))

    user_yaml = env.get("SPILO_CONFIGURATION")
    if user_yaml:
        try:
            user_config = yaml.safe_load(user_yaml)
        except yaml.YAMLError as exc:
            raise ConfigError(f"SPILO_CONFIGURATION is not valid YAML: {exc}") from exc
        if user_config is not None and not isinstance(user_config, Mapping):
            raise ConfigError("SPILO_CONFIGURATION must be a YAML mapping")
        config = deep_merge(config, user_config or {})
    return config


def find_bin_dir(env: Mapping[str, str], root: str = "/usr/lib/postgresql") -> str:
    """PostgreSQL's binaries: PGVERSION if given, else the newest installed major version."""
    version = env.get("PGVERSION")
    if not version:
        versions = sorted((d for d in os.listdir(root) if d.isdigit()), key=int)
        if not versions:
            raise ConfigError(f"no PostgreSQL installation under {root}")
        version = versions[-1]
    return f"{root}/{version}/bin"


# ---------------------------------------------------------------- side effects


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _symlink(target: str, link: str, uid: int, gid: int) -> None:
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)
    os.lchown(link, uid, gid)


def prepare_filesystem(config: dict, uid: int, gid: int) -> None:
    """Write the config (secrets inside: mode 0600), the certificate and the symlinks."""
    fd = os.open(CONFIG_PATH, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(config, handle, default_flow_style=False)
    os.chown(CONFIG_PATH, uid, gid)

    # Same places as in Spilo, so `patronictl list` works for root and postgres.
    _symlink(CONFIG_PATH, f"{PGHOME}/postgres.yml", uid, gid)
    _symlink(CONFIG_PATH, f"{PGHOME}/.config/patroni/patronictl.yaml", uid, gid)
    _symlink(CONFIG_PATH, "/root/.config/patroni/patronictl.yaml", 0, 0)

    os.makedirs(CERT_DIR, exist_ok=True)
    key, crt = f"{CERT_DIR}/server.key", f"{CERT_DIR}/server.crt"
    if not os.path.exists(crt):
        _run(
            "openssl",
            "req",
            "-nodes",
            "-new",
            "-x509",
            # An EC key: made in milliseconds, where RSA takes a CPU-second on a busy machine
            # at every node's first start (PostgreSQL serves either).
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-days",
            "3650",
            "-subj",
            f"/CN={config['name']}",
            "-keyout",
            key,
            "-out",
            crt,
        )
    for path in (CERT_DIR, key, crt):
        os.chown(path, uid, gid)
    os.chmod(key, 0o600)

    for directory in (SOCKET_DIR, os.path.dirname(config["postgresql"]["data_dir"])):
        os.makedirs(directory, exist_ok=True)
        os.chown(directory, uid, gid)
    os.chown(PGHOME, uid, gid)
    for dirpath, _dirnames, _ in os.walk(f"{PGHOME}/.config"):
        os.chown(dirpath, uid, gid)


def main() -> None:
    import pwd

    env = dict(os.environ)
    hostname = socket.gethostname()
    try:
        config = build_config(env, hostname, socket.gethostbyname(hostname), find_bin_dir(env))
    except ConfigError as exc:
        print(f"spilo_env: {exc}", file=sys.stderr)
        sys.exit(2)

    postgres = pwd.getpwnam("postgres")
    prepare_filesystem(config, postgres.pw_uid, postgres.pw_gid)

    # The configuration file holds the passwords; Patroni does not need them twice.
    for name in ("PGPASSWORD_SUPERUSER", "PGPASSWORD_STANDBY", "SPILO_CONFIGURATION"):
        os.environ.pop(name, None)
    os.environ.update(HOME=PGHOME, USER="postgres", LOGNAME="postgres")
    os.initgroups("postgres", postgres.pw_gid)
    os.setgid(postgres.pw_gid)
    os.setuid(postgres.pw_uid)
    os.chdir(PGHOME)
    patroni = os.path.join(os.path.dirname(sys.executable), "patroni")
    os.execv(patroni, [patroni, CONFIG_PATH])


if __name__ == "__main__":
    main()
