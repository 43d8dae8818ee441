"""Root conftest: the suite's fixtures live in fixtures/, wired in as a plugin."""

# pytester: the options are tested by running pytest itself (tests/unit/test_options.py).
pytest_plugins = ["fixtures.grading.report_plugin", "fixtures.run.plugin", "pytester"]
