"""The chat's pages in the store's admin section: recent messages with moderation, rooms with presence.

They live here, not in ignite_store, because they need the chat: a deletion is pushed to connected
clients through the fan-out, and presence is the chat's Redis key layout. They are registered under
the store's section (same URLs, /admin/ignite_store/messages/ and /rooms/) by chat/admin.py.
"""

from __future__ import annotations

import logging
import time

import redis
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from ignite_store import InvalidMessage, Message, StoreError, stores
from ignite_store.admin_views import admin_context, unavailable, when

from .fanout import publish_deleted
from .presence import KEY_PREFIX, redis_url, users_of

logger = logging.getLogger(__name__)

PAGE_SIZE = 50


# ---------------------------------------------------------------- recent messages


def _cursor(message: Message) -> str:
    return f"{message.created_at}:{message.seq}:{message.room}"


def _parse_cursor(value: str) -> tuple[int, str, int] | None:
    try:
        created_at, seq, room = value.split(":", 2)
        return int(created_at), room, int(seq)
    except ValueError:
        return None


def _parse_selected(values: list[str]) -> list[tuple[str, int]]:
    selected = []
    for value in values:
        seq, _, room = value.partition(":")
        if seq.isdigit() and room:
            selected.append((room, int(seq)))
    return selected


def _notify_deleted(message: Message) -> bool:
    """Tell connected clients through the fan-out; False when that failed."""
    try:
        publish_deleted(message.room, message.seq, message.id)
    except Exception:  # the deletion is stored; clients catch up from history on reconnect
        logger.exception("could not publish the deletion of %s/%s", message.room, message.seq)
        return False
    return True


def _delete_selected(request: HttpRequest, selected: list[tuple[str, int]]) -> None:
    store = stores["default"]
    deleted = unannounced = 0
    for room, seq in selected:
        message = store.delete(room, seq, by=request.user.get_username())
        if message is not None:
            deleted += 1
            unannounced += not _notify_deleted(message)
    messages.success(request, f"Deleted {deleted} message(s).")
    if unannounced:
        messages.warning(request, f"{unannounced} deletion(s) could not be pushed to connected clients.")


def messages_view(request: HttpRequest) -> HttpResponse:
    """Recent messages across rooms: filter, search, cursor pages, delete selected (moderation)."""
    filters = {key: request.GET.get(key, "").strip() for key in ("room", "author", "q")}
    if request.method == "POST":
        selected = _parse_selected(request.POST.getlist("selected"))
        back = request.POST.get("back") or reverse("admin:ignite_store_messages")
        if not back.startswith("/"):
            back = reverse("admin:ignite_store_messages")
        if not selected:
            messages.warning(request, "Select messages to delete first.")
            return HttpResponseRedirect(back)
        if request.POST.get("confirm") != "yes":
            context = admin_context(request, "Delete messages?", selected=selected, back=back,
                               items=_fetch_selected(selected))
            return TemplateResponse(request, "admin/chat/delete_confirm.html", context)
        try:
            _delete_selected(request, selected)
        except StoreError as exc:
            messages.error(request, unavailable(exc))
        return HttpResponseRedirect(back)

    context = admin_context(request, "Recent messages", filters=filters, rows=[], next_url=None)
    before = _parse_cursor(request.GET.get("before", ""))
    try:
        found = stores["default"].recent(
            PAGE_SIZE + 1, room=filters["room"] or None, author=filters["author"] or None,
            search=filters["q"] or None, before=before,
        )
    except InvalidMessage as exc:
        context["store_error"] = f"Invalid filter: {exc}"
    except StoreError as exc:
        context["store_error"] = unavailable(exc)
    else:
        page = found[:PAGE_SIZE]
        context["rows"] = [{"message": m, "created": when(m.created_at), "key": f"{m.seq}:{m.room}"} for m in page]
        if len(found) > PAGE_SIZE:
            query = {k: v for k, v in filters.items() if v}
            context["next_url"] = "?" + urlencode({**query, "before": _cursor(page[-1])})
    context["is_first_page"] = before is None
    context["first_url"] = "?" + urlencode({k: v for k, v in filters.items() if v})
    return TemplateResponse(request, "admin/chat/messages.html", context)


def _fetch_selected(selected: list[tuple[str, int]]) -> list[dict]:
    try:
        store = stores["default"]
        return [{"room": room, "seq": seq, "message": store.get(room, seq)} for room, seq in selected]
    except StoreError:
        return [{"room": room, "seq": seq, "message": None} for room, seq in selected]


# ---------------------------------------------------------------- rooms


def present_counts(rooms: list[str]) -> dict[str, int] | None:
    """People present per room from the Redis presence sets; None when unknown."""
    try:
        client = redis.Redis.from_url(redis_url(), socket_timeout=1, socket_connect_timeout=1)
        try:
            with client.pipeline(transaction=False) as pipe:
                now = time.time()
                for room in rooms:
                    pipe.zrangebyscore(KEY_PREFIX + room, now, "+inf")
                results = pipe.execute()
        finally:
            client.close()
    except Exception:
        logger.warning("presence is unavailable", exc_info=True)
        return None
    return {room: len(users_of(entries)) for room, entries in zip(rooms, results, strict=True)}


def rooms_view(request: HttpRequest) -> HttpResponse:
    """Every room: stored messages, last sequence, last activity, people present."""
    context = admin_context(request, "Rooms", rows=[], presence_known=False)
    try:
        rooms = stores["default"].rooms()
    except StoreError as exc:
        context["store_error"] = unavailable(exc)
        return TemplateResponse(request, "admin/chat/rooms.html", context)
    present = present_counts([info.room for info in rooms])
    context["presence_known"] = present is not None
    context["rows"] = [
        {
            "info": info,
            "last_activity": when(info.last_activity),
            "present": present.get(info.room) if present is not None else None,
            "messages_url": reverse("admin:ignite_store_messages") + "?" + urlencode({"room": info.room}),
        }
        for info in rooms
    ]
    return TemplateResponse(request, "admin/chat/rooms.html", context)
