"""The suite's options, tested by running pytest itself (pytester), and the README's tables."""

from pathlib import Path

import pytest

from fixtures import run
from fixtures.run import options

ROOT = Path(__file__).resolve().parents[2]

PLUGINS = f"pytest_plugins = {list(run.PLUGINS)!r}\n"


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytest run with the suite's plugin and one test that needs no cluster."""
    pytester.makeconftest(PLUGINS)
    pytester.makepyfile(
        test_probe="""
        from fixtures.run import options

        def test_probe(pytestconfig):
            print("VALUE", repr(options.value(pytestconfig, "--timeout-multiplier")),
                  repr(options.value(pytestconfig, "--allow-changes")),
                  repr(options.value(pytestconfig, "--target-member")))
        """
    )
    return pytester


def test_the_help_lists_every_option_with_its_variable(suite):
    result = suite.runpytest("--help")
    text = result.stdout.str()
    for option in options.OPTIONS:
        assert option.flag in text, option.flag
    assert "[PGHA_HAPROXY_CONFIG]" in text and "[PGHA_TARGET_ETCD]" in text


def test_a_variable_stands_in_for_its_flag_and_the_flag_wins(suite, monkeypatch):
    monkeypatch.setenv("PGHA_TIMEOUT_MULTIPLIER", "2.5")
    monkeypatch.setenv("PGHA_ALLOW_CHANGES", "1")
    monkeypatch.setenv("PGHA_TARGET_ETCD", "127.0.0.1:1")  # read, never contacted here
    monkeypatch.setenv("PGHA_TARGET_MEMBERS", "a=http://127.0.0.1:1,b=http://127.0.0.1:2")
    result = suite.runpytest("-s", "-p", "no:cacheprovider")
    # (brackets are a character class to fnmatch: compare the text)
    assert "VALUE 2.5 True ['a=http://127.0.0.1:1,b=http://127.0.0.1:2']" in result.stdout.str()
    result = suite.runpytest("-s", "-p", "no:cacheprovider", "--timeout-multiplier", "3")
    result.stdout.fnmatch_lines(["*VALUE 3.0 True *"])


def test_a_variable_of_the_wrong_type_is_one_clear_error(suite, monkeypatch):
    monkeypatch.setenv("PGHA_TIMEOUT_MULTIPLIER", "slow")
    result = suite.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*PGHA_TIMEOUT_MULTIPLIER='slow': expected float*"])


def test_illegal_patroni_timings_stop_the_run_before_any_test(suite):
    result = suite.runpytest("-p", "no:cacheprovider", "--patroni-ttl", "10")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ttl 10 is below Patroni's minimum of 20*"])


def test_a_missing_haproxy_config_is_named(suite, tmp_path):
    result = suite.runpytest(
        "-p", "no:cacheprovider", "--haproxy-config", str(tmp_path / "nope.cfg")
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--haproxy-config*nope.cfg: No such file or directory*"])


def test_unknown_markers_are_refused(suite):
    suite.makepyfile(test_marked="import pytest\n\n@pytest.mark.sloww\ndef test_x():\n    pass\n")
    result = suite.runpytest("-p", "no:cacheprovider", "--strict-markers", "test_marked.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'sloww' not found in `markers` configuration option*"])


def test_the_readme_tables_are_the_options_table():
    readme = (ROOT / "README.md").read_text()
    for group, block in options.readme_blocks().items():
        assert block in readme, (
            f"the README's {group} options differ from fixtures/run/options.py; "
            f"print them with: python -m fixtures.run.options"
        )


def test_a_grading_runs_target_options_read_back_as_the_target(suite):
    """The one builder of a grading run's options (child runs, the class command's tests)
    gives what the suite's option parsing reads back."""
    from fixtures.grading.child_run import Target

    target = Target(
        scope="dummy",
        etcd="127.0.0.1:1",
        haproxy_host="127.0.0.1",
        haproxy_ports=(2, 3, 4),
        patronictl="docker exec node-a patronictl",
        members={"a": ("http://127.0.0.1:5", "127.0.0.1:6"), "b": ("http://[::1]:7", "[::1]:8")},
        logs="docker logs {member}",
    )
    suite.makepyfile(
        test_probe="""
        from fixtures.run.config import target_spec_from

        def test_probe(pytestconfig):
            spec = target_spec_from(pytestconfig)
            print("SPEC", spec.scope, spec.etcd, spec.haproxy_host, spec.haproxy_ports,
                  spec.patronictl, spec.logs, spec.rest, spec.pg)
        """
    )
    result = suite.runpytest("-s", "-p", "no:cacheprovider", *target.args())
    assert result.ret == 0, result.stdout.str()
    assert (
        "SPEC dummy 127.0.0.1:1 127.0.0.1 {'rw': 2, 'ro': 3, 'stats': 4} "
        "['docker', 'exec', 'node-a', 'patronictl'] docker logs {member} "
        "{'a': Endpoint(host='127.0.0.1', port=5), 'b': Endpoint(host='::1', port=7)} "
        "{'a': Endpoint(host='127.0.0.1', port=6), 'b': Endpoint(host='::1', port=8)}"
    ) in result.stdout.str()


def test_a_switch_variable_takes_the_usual_words_and_refuses_others(suite, monkeypatch):
    monkeypatch.setenv("PGHA_ALLOW_CHANGES", "true")
    result = suite.runpytest("-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*VALUE 1.0 True *"])
    monkeypatch.setenv("PGHA_ALLOW_CHANGES", "off")
    result = suite.runpytest("-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*VALUE 1.0 False *"])
    monkeypatch.setenv("PGHA_ALLOW_CHANGES", "sure")
    result = suite.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*PGHA_ALLOW_CHANGES='sure': expected 1 or 0*"])


def test_a_repeated_option_shows_what_it_takes(suite):
    result = suite.runpytest("--help")
    result.stdout.fnmatch_lines(["*--target-member=NAME=URL*", "*--target-pg=NAME=HOST:PORT*"])
