"""Read settings from environment variables, failing with the variable's name."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default=None, *, cast=str):
    """Return environment variable `name` converted by `cast`, or `default` when unset.

    `cast` may be str, int, float, bool, list (comma separated) or a callable.
    A malformed value raises ImproperlyConfigured naming the variable.
    """
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        if cast is bool:
            lowered = raw.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(f"expected one of {sorted(_TRUE | _FALSE)}")
        if cast is list:
            return [item.strip() for item in raw.split(",") if item.strip()]
        return cast(raw)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"Environment variable {name}={raw!r} is malformed: {exc}") from exc


def host_port_list(raw: str) -> list[tuple[str, int]]:
    """Parse 'host:port,host:port' into [(host, port), ...]."""
    nodes = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host:
            raise ValueError(f"{item!r} is not host:port")
        nodes.append((host, int(port)))
    if not nodes:
        raise ValueError("no host:port given")
    return nodes
