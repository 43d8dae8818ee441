"""Turning a changed dynamic configuration back into the one found."""
from fixtures.undo import config_patch

ORIGINAL = {"ttl": 30, "loop_wait": 10,
            "postgresql": {"parameters": {"max_connections": 100, "wal_level": "replica"}}}


def test_changed_added_and_removed_keys_are_turned_back():
    current = {"ttl": 30, "loop_wait": 10, "synchronous_mode": True,
               "postgresql": {"parameters": {"max_connections": 110, "wal_level": "replica",
                                             "log_min_duration_statement": 250}}}
    assert config_patch(ORIGINAL, current) == {
        "synchronous_mode": None,
        "postgresql": {"parameters": {"max_connections": 100,
                                      "log_min_duration_statement": None}},
    }


def test_a_key_the_run_deleted_comes_back():
    assert config_patch(ORIGINAL, {"ttl": 30, "postgresql": ORIGINAL["postgresql"]}) == \
        {"loop_wait": 10}


def test_nothing_to_undo_when_unchanged():
    assert config_patch(ORIGINAL, ORIGINAL) == {}
