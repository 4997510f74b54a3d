"""System checks for IGNITE_STORE: configuration always, connectivity on demand.

Configuration checks run with every manage.py command. The connectivity check is a
deployment check tagged "ignite" (`manage.py check --deploy`, or `check --deploy --tag ignite`
for it alone), so runserver and the tests never wait on a cluster.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

from .backends.ignite_schema import TABLE_PREFIX as _PREFIX  # imports no pyignite: checks stay cheap

IGNITE_TAG = "ignite"
_KEYS = {"BACKEND", "NODES", "OPTIONS"}
_HINT = "IGNITE_STORE is shaped like CACHES: {'default': {'BACKEND': ..., 'NODES': [(host, port)], 'OPTIONS': {}}}."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# option name -> (test, what it must be); unknown options are left to the backend's constructor.
_OPTION_TYPES = {
    "username": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "password": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "use_ssl": (lambda v: isinstance(v, bool), "a bool"),
    "ssl_ca_file": (lambda v: v is None or isinstance(v, str), "a path or None"),
    "ssl_cert_file": (lambda v: v is None or isinstance(v, str), "a path or None"),
    "ssl_key_file": (lambda v: v is None or isinstance(v, str), "a path or None"),
    "timeout": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0, "a positive number"),
    "backups": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "table_prefix": (lambda v: isinstance(v, str) and bool(_PREFIX.fullmatch(v)), f"a string like {_PREFIX.pattern}"),
    "retention_days": (lambda v: _is_int(v) and v >= 0, "a non-negative integer (0 keeps history forever)"),
    "partition_aware": (lambda v: isinstance(v, bool), "a bool"),
}


def _check_node(alias: str, node) -> list[Error]:
    ok = (
        isinstance(node, (tuple, list))
        and len(node) == 2
        and isinstance(node[0], str)
        and bool(node[0])
        and _is_int(node[1])
        and 0 < node[1] < 65536
    )
    if ok:
        return []
    return [
        Error(
            f"IGNITE_STORE[{alias!r}]['NODES'] has a malformed node {node!r}.",
            hint="Each node is a (host, port) pair, port 1-65535; IGNITE_NODES takes 'host:port,host:port'.",
            id="ignite_store.E005",
        )
    ]


def _check_alias(alias: str, config) -> list[Error]:
    if not isinstance(config, dict):
        return [Error(f"IGNITE_STORE[{alias!r}] must be a dict.", hint=_HINT, id="ignite_store.E002")]
    errors = []
    for key in ("BACKEND", "NODES"):
        if key not in config:
            errors.append(Error(f"IGNITE_STORE[{alias!r}] is missing {key}.", hint=_HINT, id="ignite_store.E003"))
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        errors.append(Error(f"IGNITE_STORE[{alias!r}] has unknown keys {unknown}.", hint=_HINT, id="ignite_store.E002"))
    backend = config.get("BACKEND")
    if backend is not None:
        try:
            import_string(backend)
        except ImportError as exc:
            errors.append(
                Error(
                    f"IGNITE_STORE[{alias!r}]['BACKEND'] {backend!r} cannot be imported: {exc}",
                    hint="Use 'ignite_store.backends.ignite.IgniteMessageStore'.",
                    id="ignite_store.E004",
                )
            )
    if "NODES" in config:
        nodes = config["NODES"]
        if not isinstance(nodes, (list, tuple)) or not nodes:
            errors.append(
                Error(
                    f"IGNITE_STORE[{alias!r}]['NODES'] must be a non-empty list of (host, port).",
                    hint="Set IGNITE_NODES, e.g. '127.0.0.1:10800,127.0.0.1:10801'.",
                    id="ignite_store.E005",
                )
            )
        else:
            for node in nodes:
                errors += _check_node(alias, node)
    options = config.get("OPTIONS", {})
    if options is not None and not isinstance(options, dict):
        errors.append(Error(f"IGNITE_STORE[{alias!r}]['OPTIONS'] must be a dict.", hint=_HINT, id="ignite_store.E006"))
    else:
        for name, value in (options or {}).items():
            rule = _OPTION_TYPES.get(name)
            if rule and not rule[0](value):
                errors.append(
                    Error(
                        f"IGNITE_STORE[{alias!r}]['OPTIONS'][{name!r}] must be {rule[1]}, got {value!r}.",
                        id="ignite_store.E007",
                    )
                )
    return errors


@register()
def check_store_settings(app_configs=None, **kwargs) -> list[Error]:
    """IGNITE_STORE exists, has a 'default' alias, and every alias is well formed."""
    config = getattr(settings, "IGNITE_STORE", None)
    if not isinstance(config, dict) or "default" not in config:
        return [Error("IGNITE_STORE must be a dict with a 'default' alias.", hint=_HINT, id="ignite_store.E001")]
    errors = []
    for alias, alias_config in config.items():
        errors += _check_alias(alias, alias_config)
    return errors


@register(IGNITE_TAG, deploy=True)
def check_store_reachable(app_configs=None, **kwargs) -> list[Error | Warning]:
    """Each configured store answers and its schema is complete (network: deploy checks only)."""
    from . import stores
    from .errors import StoreError

    if check_store_settings():
        return []  # configuration errors are already reported; connecting would only repeat them
    messages: list[Error | Warning] = []
    for alias in settings.IGNITE_STORE:
        try:
            problems = stores[alias].check_schema()
        except StoreError as exc:
            messages.append(
                Error(
                    f"Ignite store {alias!r} is unreachable: {exc}",
                    hint="Check IGNITE_NODES and that the cluster is up and ACTIVE (manage.py ignite_status).",
                    id="ignite_store.E010",
                )
            )
            continue
        if problems:
            messages.append(
                Warning(
                    f"Ignite store {alias!r} schema is incomplete: {'; '.join(problems)}",
                    hint="Run manage.py ignite_init.",
                    id="ignite_store.W011",
                )
            )
    return messages
