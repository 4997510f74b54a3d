"""System checks: malformed IGNITE_STORE always reported; connectivity only on demand."""

from __future__ import annotations

import copy

import pytest
from django.core import checks
from django.test import override_settings

from ignite_store.checks import check_store_settings

from .helpers import dead_address, reset_stores

GOOD = {"BACKEND": "ignite_store.backends.ignite.IgniteMessageStore", "NODES": [("127.0.0.1", 10800)], "OPTIONS": {}}


def ids(messages) -> set[str]:
    return {message.id for message in messages}


def with_default(**changes) -> dict:
    conf = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is None:
            conf.pop(key)
        else:
            conf[key] = value
    return {"default": conf}


@pytest.mark.parametrize(
    ("store_setting", "expected"),
    [
        ({}, "ignite_store.E001"),
        ("not a dict", "ignite_store.E001"),
        ({"default": ["BACKEND"]}, "ignite_store.E002"),
        (with_default(SERVERS=[]), "ignite_store.E002"),
        (with_default(BACKEND=None), "ignite_store.E003"),
        (with_default(NODES=None), "ignite_store.E003"),
        (with_default(BACKEND="ignite_store.backends.nope.Store"), "ignite_store.E004"),
        (with_default(NODES=[]), "ignite_store.E005"),
        (with_default(NODES=["127.0.0.1:10800"]), "ignite_store.E005"),
        (with_default(NODES=[("127.0.0.1", "10800")]), "ignite_store.E005"),
        (with_default(NODES=[("127.0.0.1", 70000)]), "ignite_store.E005"),
        (with_default(OPTIONS="timeout=5"), "ignite_store.E006"),
        (with_default(OPTIONS={"timeout": "5"}), "ignite_store.E007"),
        (with_default(OPTIONS={"backups": -1}), "ignite_store.E007"),
        (with_default(OPTIONS={"retention_days": 1.5}), "ignite_store.E007"),
        (with_default(OPTIONS={"use_ssl": "yes"}), "ignite_store.E007"),
        (with_default(OPTIONS={"table_prefix": "chat-x"}), "ignite_store.E007"),
    ],
)
def test_malformed_ignite_store_is_reported(store_setting, expected):
    with override_settings(IGNITE_STORE=store_setting):
        assert expected in ids(check_store_settings())
        assert expected in ids(checks.run_checks())  # registered: runs with every manage.py command


@pytest.mark.unit
def test_well_formed_settings_pass():
    with override_settings(IGNITE_STORE={"default": GOOD}):
        assert check_store_settings() == []


def test_connectivity_check_is_opt_in():
    with override_settings(IGNITE_STORE={"default": {**GOOD, "NODES": [dead_address()], "OPTIONS": {"timeout": 2.0}}}):
        reset_stores()
        try:
            assert "ignite_store.E010" not in ids(checks.run_checks())
            found = checks.run_checks(include_deployment_checks=True, tags=["ignite"])
            assert ids(found) == {"ignite_store.E010"}
        finally:
            reset_stores()


def test_connectivity_check_passes_against_a_live_cluster(live_settings):
    assert checks.run_checks(include_deployment_checks=True, tags=["ignite"]) == []
