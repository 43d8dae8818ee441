"""Every wait for the cluster takes its deadline from the one table (fixtures/run/deadlines.py),
so --timeout-multiplier scales it: no literal number of seconds in a wait."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Calls that wait for the cluster (or for a run that waits for it), by name.
WAITS = {"run_pytest", "run_child", "grade_as_foreign", "restore"}


def is_wait(name: str) -> bool:
    return name.startswith("wait") or name in WAITS


def literal_seconds(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float)


def offenders() -> list[str]:
    found = []
    files = [*ROOT.glob("fixtures/**/*.py"), *ROOT.glob("tests/test_*.py")]
    for path in files:
        tree = ast.parse(path.read_text())
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if is_wait(name):
                    for keyword in node.keywords:
                        if keyword.arg == "timeout" and literal_seconds(keyword.value):
                            found.append(f"{where}:{node.lineno}: {name}(timeout=...)")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and is_wait(node.name):
                args = node.args
                positional = args.posonlyargs + args.args
                defaults = dict(
                    zip([a.arg for a in positional][-len(args.defaults) :], args.defaults)
                )
                defaults.update(
                    {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
                )
                if literal_seconds(defaults.get("timeout")):
                    found.append(f"{where}:{node.lineno}: def {node.name}(timeout=...)")
    return sorted(found)


def test_no_wait_has_a_literal_deadline():
    assert offenders() == []


def sleeps_in_test_modules() -> list[str]:
    """A test module waits for the cluster through a named wait (fixtures/run/waiting.py),
    never by sleeping: a sleep has no condition to report when it was not long enough."""
    found = []
    for path in ROOT.glob("tests/test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "sleep":
                    found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}: sleep()")
    return sorted(found)


def test_no_test_module_sleeps_to_wait():
    assert sleeps_in_test_modules() == []
