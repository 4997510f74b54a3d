"""Ending access: removed members, archived rooms, and users who log out, change their password or are
deactivated. Every open socket of the user, in every process, stops receiving the room (or is closed).

A revocation is a control event on the channel layer: each process applies it synchronously when it
arrives (ChatSession.on_control detaches the socket from the room before the next event is dispatched),
so the delay is one Redis round trip, well under the 2 s the docs promise (tests/chat/test_revocation.py).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save

from . import fanout
from .fanout import user_channel

logger = logging.getLogger(__name__)

CLOSE_REVOKED = 4401  # the socket's user may no longer use it (docs/protocol.md, "Close codes")


async def revoke_membership(publisher, room: str, user: str, reason: str) -> None:
    """`user` is no longer a member of `room`: their sockets drop it, the room hears of it."""
    removed = {"type": "removed", "room": room, "reason": reason}
    await publisher.control(user_channel(user), {"revoke": room}, text=removed)
    await publisher.publish(room, {"type": "member", "room": room, "user": user, "event": reason})


async def revoke_room(publisher, room: str, reason: str) -> None:
    """Nobody may use `room` any more (archived): every socket in it drops it (the same control, sent to the room)."""
    await publisher.control(room, {"revoke": room}, text={"type": "removed", "room": room, "reason": reason})


async def aclose_user_sockets(username: str, reason: str, session_key: str | None = None) -> None:
    """Close every socket of `username` (only those of one session when `session_key` is given)."""
    control = {"close": reason}
    if session_key is not None:
        control["session"] = session_key
    await fanout.publish_control(user_channel(username), control)


def close_user_sockets(username: str, reason: str, session_key: str | None = None) -> None:
    """Sync twin of aclose_user_sockets, for signal receivers and admin views. Never raises."""
    try:
        async_to_sync(aclose_user_sockets)(username, reason, session_key)
    except Exception:
        logger.warning("could not close the sockets of %s (%s)", username, reason, exc_info=True)


# ---------------------------------------------------------------- signal receivers (connected in ChatConfig.ready)
def _on_logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        session = getattr(request, "session", None)
        close_user_sockets(user.get_username(), "logged_out", getattr(session, "session_key", None))


def _remember_old_state(sender, instance, **kwargs) -> None:
    if instance.pk is None:
        instance._chat_old_state = None
        return
    old = sender._default_manager.filter(pk=instance.pk).values("password", "is_active", sender.USERNAME_FIELD)
    instance._chat_old_state = old.first()


def _on_user_saved(sender, instance, created, **kwargs) -> None:
    old = getattr(instance, "_chat_old_state", None)
    if created or old is None:
        return
    if old["is_active"] and not instance.is_active:
        close_user_sockets(old[sender.USERNAME_FIELD], "deactivated")
    elif old["password"] != instance.password:
        close_user_sockets(old[sender.USERNAME_FIELD], "password_changed")


def _on_user_deleted(sender, instance, **kwargs) -> None:
    close_user_sockets(instance.get_username(), "deleted")


def connect_signals() -> None:
    """Connect the receivers above (idempotent: dispatch_uid)."""
    user_model = get_user_model()
    user_logged_out.connect(_on_logged_out, dispatch_uid="chat.revocation.logged_out")
    pre_save.connect(_remember_old_state, sender=user_model, dispatch_uid="chat.revocation.pre_save")
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="chat.revocation.post_save")
    post_delete.connect(_on_user_deleted, sender=user_model, dispatch_uid="chat.revocation.post_delete")
