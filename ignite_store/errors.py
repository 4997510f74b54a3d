"""The exception tree of ignite_store. Nothing outside this package sees a pyignite error.

    StoreError
    ├── StoreUnavailable      no node answered within the timeout, or the cluster refused the operation
    ├── InvalidMessage        a room name, body, author or client id failed validation (nothing was stored)
    ├── ChangeRefused         an edit, delete, reaction or reply the message's state refuses (nothing was stored)
    ├── SchemaError           the caches/tables are missing or do not match what this version expects
    └── StoreConfigurationError   IGNITE_STORE is malformed (also an ImproperlyConfigured)
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class StoreError(Exception):
    """Root of every error raised by the message store."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """The Ignite cluster could not be reached or could not complete the operation in time."""

    code = "store_unavailable"

    def __init__(self, *args, retryable: bool = True):
        super().__init__(*args)
        # False when trying again cannot help (refused credentials): callers skip their retry.
        self.retryable = retryable


class InvalidMessage(StoreError, ValueError):
    """A value given to the store failed validation; nothing was stored."""

    code = "invalid"

    def __init__(self, field: str, detail: str):
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class ChangeRefused(StoreError):
    """The message's stored state refuses the change; nothing was stored. `code` is one of CODES."""

    CODES = ("no_such_message", "not_author", "edit_window_closed", "message_deleted", "too_many_reactions")

    def __init__(self, code: str, detail: str):
        assert code in self.CODES, code
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class SchemaError(StoreError):
    """The schema in the cluster is missing or does not match this version."""

    code = "schema_error"


class StoreConfigurationError(StoreError, ImproperlyConfigured):
    """IGNITE_STORE names an unknown backend or passes bad options."""

    code = "configuration"
