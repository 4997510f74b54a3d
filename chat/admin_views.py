"""The chat's pages in the store's admin section: recent messages with moderation; rooms (every kind) with
members, presence, archive and member removal.

They live here, not in ignite_store, because they need the chat: a deletion is pushed to connected
clients through the fan-out, an archive or a removal revokes open sockets (chat.revocation), and presence
is the chat's Redis key layout. They are registered under the store's section (/admin/ignite_store/messages/
and /rooms/, a room's members at /rooms/?room=<id>) by chat/admin.py.
"""

from __future__ import annotations

import logging
import time

import redis
from asgiref.sync import async_to_sync
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ignite_store import ROOM_KINDS, InvalidMessage, Message, StoreError, run_sync, stores
from ignite_store.admin_views import admin_context, unavailable, when

from .fanout import publish_moderated
from .presence import KEY_PREFIX, redis_url, users_of
from .revocation import revoke_membership, revoke_room
from .services import ChannelLayerPublisher

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
ROOMS_LIMIT = 500
MEMBERS_LIMIT = 1000
KIND_LABELS = {"public": gettext_lazy("public"), "private": gettext_lazy("private"), "direct": gettext_lazy("direct")}
ROLE_LABELS = {"owner": gettext_lazy("owner"), "admin": gettext_lazy("admin"), "member": gettext_lazy("member")}


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


def _notify_deleted(message: Message, by: str) -> bool:
    """Tell connected clients through the fan-out (an `update` with the tombstone); False when that failed."""
    try:
        publish_moderated(message, by)
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
            unannounced += not _notify_deleted(message, request.user.get_username())
    messages.success(request, ngettext("Deleted %(count)d message.", "Deleted %(count)d messages.", deleted)
                     % {"count": deleted})
    if unannounced:
        messages.warning(request, ngettext("%(count)d deletion could not be pushed to connected clients.",
                                           "%(count)d deletions could not be pushed to connected clients.",
                                           unannounced) % {"count": unannounced})


def messages_view(request: HttpRequest) -> HttpResponse:
    """Recent messages across rooms: filter, search, cursor pages, delete selected (moderation)."""
    filters = {key: request.GET.get(key, "").strip() for key in ("room", "author", "q")}
    if request.method == "POST":
        selected = _parse_selected(request.POST.getlist("selected"))
        back = request.POST.get("back") or reverse("admin:ignite_store_messages")
        if not back.startswith("/"):
            back = reverse("admin:ignite_store_messages")
        if not selected:
            messages.warning(request, _("Select messages to delete first."))
            return HttpResponseRedirect(back)
        if request.POST.get("confirm") != "yes":
            context = admin_context(request, _("Delete messages?"), selected=selected, back=back,
                               items=_fetch_selected(selected))
            return TemplateResponse(request, "admin/chat/delete_confirm.html", context)
        try:
            _delete_selected(request, selected)
        except StoreError as exc:
            messages.error(request, unavailable(exc))
        return HttpResponseRedirect(back)

    context = admin_context(request, _("Recent messages"), filters=filters, rows=[], next_url=None)
    before = _parse_cursor(request.GET.get("before", ""))
    try:
        page, cursor = _recent_page(filters, before)
    except InvalidMessage as exc:
        context["store_error"] = _("Invalid filter: %(error)s") % {"error": exc}
    except StoreError as exc:
        context["store_error"] = unavailable(exc)
    else:
        context["rows"] = [{"message": m, "created": when(m.created_at), "key": f"{m.seq}:{m.room}",
                            "versions_url": "?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                             "versions": f"{m.seq}:{m.room}"})}
                           for m in page]
        if cursor is not None:
            query = {k: v for k, v in filters.items() if v}
            context["next_url"] = "?" + urlencode({**query, "before": _cursor(cursor)})
    versions_of = _parse_selected([request.GET.get("versions", "")])
    if versions_of:
        context["history"] = _versions(*versions_of[0])
    context["is_first_page"] = before is None
    context["first_url"] = "?" + urlencode({k: v for k, v in filters.items() if v})
    return TemplateResponse(request, "admin/chat/messages.html", context)


def _recent_page(filters: dict[str, str], before: tuple[int, str, int] | None) -> tuple[list[Message], Message | None]:
    """A page of messages and the one to continue after; text goes through the search (the users' path)."""
    store = stores["default"]
    if filters["q"]:
        rooms = [filters["room"]] if filters["room"] else None  # None: every room (staff)
        found = store.search(rooms, filters["q"], limit=PAGE_SIZE, author=filters["author"] or None, cursor=before)
        messages_ = [hit.message for hit in found.hits]
        if found.cursor is None:
            return messages_, None
        at, room, seq = found.cursor
        return messages_, Message(id="", room=room, seq=seq, author="", body="", client_id="", created_at=at)
    found_recent = store.recent(PAGE_SIZE + 1, room=filters["room"] or None, author=filters["author"] or None,
                                before=before)
    page = found_recent[:PAGE_SIZE]
    return page, page[-1] if len(found_recent) > PAGE_SIZE else None


def _versions(room: str, seq: int) -> dict:
    """An edited message and the bodies its edits replaced (staff only see these), oldest first."""
    store = stores["default"]
    try:
        message, versions = store.get(room, seq), store.versions(room, seq)
    except StoreError as exc:
        return {"room": room, "seq": seq, "error": unavailable(exc)}
    return {"room": room, "seq": seq, "message": message,
            "versions": [{"body": v.body, "written": when(v.edited_at), "replaced_by": v.replaced_by}
                         for v in versions],
            "edited": when(message.edited_at) if message is not None and message.edited_at else None}


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


def _rooms_url(request: HttpRequest) -> str:
    """Where a POST on the rooms pages goes back to: the page it came from, never off-site."""
    back = request.POST.get("back", "")
    return back if back.startswith("/") and not back.startswith("//") else reverse("admin:ignite_store_rooms")


def rooms_view(request: HttpRequest) -> HttpResponse:
    """Every room of any kind (staff see private rooms and DMs): members, activity, archive; ?room= its members."""
    if request.method == "POST":
        return _room_action(request)
    if request.GET.get("room"):
        return members_view(request, request.GET["room"])
    filters = {key: request.GET.get(key, "").strip() for key in ("kind", "q")}
    context = admin_context(request, _("Rooms"), rows=[], legacy=[], presence_known=False, filters=filters,
                            kinds=[(kind, KIND_LABELS.get(kind, kind)) for kind in ROOM_KINDS], truncated=False)
    store = stores["default"]
    try:
        listed = run_sync(store.alist_rooms(kind=filters["kind"] or None, search=filters["q"] or None,
                                            include_archived=True, limit=ROOMS_LIMIT + 1))
        context["truncated"] = len(listed) > ROOMS_LIMIT
        listed = listed[:ROOMS_LIMIT]
        members = run_sync(store.amember_counts([room.id for room, _, _ in listed])) if listed else {}
        counters = {info.room: info for info in store.rooms()}
    except InvalidMessage as exc:
        context["store_error"] = _("Invalid filter: %(error)s") % {"error": exc}
        return TemplateResponse(request, "admin/chat/rooms.html", context)
    except StoreError as exc:
        context["store_error"] = unavailable(exc)
        return TemplateResponse(request, "admin/chat/rooms.html", context)
    ids = [room.id for room, _, _ in listed]
    legacy = []
    if not any(filters.values()) and not context["truncated"]:
        # Rooms with messages but no record: from before rooms were stored (manage.py chat_migrate_rooms).
        known = set(ids)
        legacy = sorted((info for room, info in counters.items() if room not in known), key=lambda info: info.room)
    present = present_counts(ids + [info.room for info in legacy])
    context["presence_known"] = present is not None
    context["rows"] = [
        {
            "room": room,
            "kind_label": KIND_LABELS.get(room.kind, room.kind),
            "members": members.get(room.id, 0),
            "messages": counters[room.id].message_count if room.id in counters else 0,
            "last_seq": last_seq,
            "last_activity": when(last_at if last_seq else None),
            "present": present.get(room.id) if present is not None else None,
            "messages_url": _messages_url(room.id),
            "members_url": "?" + urlencode({"room": room.id}),
        }
        for room, last_seq, last_at in listed
    ]
    context["legacy"] = [
        {"info": info, "last_activity": when(info.last_activity), "messages_url": _messages_url(info.room),
         "present": present.get(info.room) if present is not None else None}
        for info in legacy
    ]
    return TemplateResponse(request, "admin/chat/rooms.html", context)


def _messages_url(room: str) -> str:
    return reverse("admin:ignite_store_messages") + "?" + urlencode({"room": room})


def members_view(request: HttpRequest, room_id: str) -> HttpResponse:
    """One room's settings and members with their roles, each with a remove button."""
    context = admin_context(request, _("Members of %(room)s") % {"room": room_id}, room=None, rows=[], room_id=room_id,
                            truncated=False, rooms_url=reverse("admin:ignite_store_rooms"))
    store = stores["default"]
    try:
        room = run_sync(store.aget_room(room_id))
        members = run_sync(store.amembers(room_id, MEMBERS_LIMIT + 1)) if room is not None else []
    except InvalidMessage as exc:
        context["store_error"] = _("Invalid room: %(error)s") % {"error": exc}
        return TemplateResponse(request, "admin/chat/room_members.html", context, status=404)
    except StoreError as exc:
        context["store_error"] = unavailable(exc)
        return TemplateResponse(request, "admin/chat/room_members.html", context)
    if room is None:
        context["store_error"] = _("No room %(room)r has a room record.") % {"room": room_id}
        return TemplateResponse(request, "admin/chat/room_members.html", context, status=404)
    context["title"] = _("Members of %(room)s") % {"room": room.name}
    context["room"] = room
    context["kind_label"] = KIND_LABELS.get(room.kind, room.kind)
    context["created"] = when(room.created_at)
    context["truncated"] = len(members) > MEMBERS_LIMIT
    context["rows"] = [{"membership": m, "joined": when(m.joined_at), "role_label": ROLE_LABELS.get(m.role, m.role)}
                       for m in members[:MEMBERS_LIMIT]]
    context["messages_url"] = _messages_url(room.id)
    return TemplateResponse(request, "admin/chat/room_members.html", context)


def _room_action(request: HttpRequest) -> HttpResponse:
    """POST archive, unarchive (room) or remove (room, user); back to the page the form was on."""
    action, room_id, user = (request.POST.get(key, "").strip() for key in ("action", "room", "user"))
    back = _rooms_url(request)
    store = stores["default"]
    try:
        if action in ("archive", "unarchive"):
            room = run_sync(store.aupdate_room(room_id, archived=action == "archive"))
            if room is None:
                messages.error(request, _("No room %(room)r.") % {"room": room_id})
            elif action == "archive":
                announced = _revoke(revoke_room, room_id, "archived")
                messages.success(request, _("Archived %(room)s.") % {"room": room.name})
                if not announced:
                    messages.warning(request,
                                     _("Connected clients could not be told; they lose the room on reconnect."))
            else:
                messages.success(request, _("Restored %(room)s.") % {"room": room.name})
        elif action == "remove" and user:
            change = run_sync(store.aremove_member(room_id, user))
            if not change.changed:
                messages.warning(request, _("%(user)s was not a member of %(room)s.") % {"user": user, "room": room_id})
            else:
                announced = _revoke(revoke_membership, room_id, user, "removed")
                messages.success(request, _("Removed %(user)s from %(room)s.") % {"user": user, "room": room_id})
                if not announced:
                    messages.warning(request, _("The open sockets of %(user)s could not be told; they lose the room "
                                                "on reconnect.") % {"user": user})
        else:
            messages.error(request, _("Unknown action."))
    except InvalidMessage as exc:
        messages.error(request, _("Invalid request: %(error)s") % {"error": exc})
    except StoreError as exc:
        messages.error(request, unavailable(exc))
    return HttpResponseRedirect(back)


def _revoke(revoke, *args: str) -> bool:
    """Tell every process through the channel layer (chat.revocation); False when that failed."""
    try:
        async_to_sync(revoke)(ChannelLayerPublisher(), *args)
    except Exception:  # stored already; access is checked again on every join and frame
        logger.exception("could not publish the revocation %s%r", revoke.__name__, args)
        return False
    return True
