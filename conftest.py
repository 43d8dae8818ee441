"""Root conftest: the suite's fixtures live in fixtures/, wired in as a plugin."""

import os

# Ryuk, testcontainers' reaper, is an image and cannot be pulled here; the
# suite removes its own containers (fixtures/docker_cluster.py). Set before
# testcontainers reads its configuration.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

# pytester: the options are tested by running pytest itself (tests/unit/test_options.py).
pytest_plugins = ["fixtures.report_plugin", "fixtures.plugin", "pytester"]
