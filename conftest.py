"""Root conftest: the suite's fixtures live in fixtures/, wired in as plugins."""

from fixtures.run import PLUGINS

# pytester: the options are tested by running pytest itself (tests/unit/test_options.py).
pytest_plugins = [*PLUGINS, "pytester"]
