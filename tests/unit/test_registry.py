"""The registry of test modules: every module is in it, and the groups follow from it."""

from pathlib import Path

from fixtures.run import registry

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_module_is_registered():
    """A new module must be given its group and kind, not become a group by accident."""
    found = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_*.py"))
    assert found == sorted(registry.BY_PATH)


def test_groups_by_module_and_fault_mode():
    assert registry.group_of("tests/test_03_failover.py::test_x") == "homework"
    assert registry.group_of("tests/test_07_faults.py::test_y[sync-x]") == "faults-sync"
    assert registry.group_of("tests/test_07_faults.py::test_y[async]") == "faults-async"
    assert registry.group_of("tests/unit/test_report.py::test_z") == "unit"
    assert registry.group_of("elsewhere/test_own.py::test_w") == "elsewhere/test_own.py"


def test_the_homework_modules_are_the_graded_steps():
    assert [p.split("_")[1] for p in registry.HOMEWORK_MODULES] == [
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
    ]


def test_every_group_has_its_place_in_the_start_order():
    groups = {registry.UNIT}
    for module in registry.MODULES:
        groups |= {module.group.format(mode=mode) for mode in ("sync", "async")}
    assert sorted(groups) == sorted(registry.START_ORDER)
    assert registry.start_rank("elsewhere/test_own.py") == len(registry.START_ORDER)
