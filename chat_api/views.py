"""The API settings page (/api/tokens/): your tokens, your bots with their tokens, and webhooks.

A new token or webhook URL is shown once, on the page answering the POST that created it.
"""

from __future__ import annotations

import re

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chat.error_text import translate_detail
from chat.protocol import ProtocolError

from . import keys
from .api import api
from .models import ApiToken, Bot, Webhook
from .webhooks import acreate_webhook

BOT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")


async def _context(user) -> dict:
    bots = [b async for b in Bot.objects.filter(owner=user).select_related("user").order_by("user__username")]
    bot_ids = [b.user_id for b in bots]
    tokens = [t async for t in ApiToken.objects.filter(user_id__in=[user.pk, *bot_ids]).select_related("user")]
    hooks = [h async for h in Webhook.objects.filter(bot_id__in=bot_ids).select_related("bot")]
    return {"tokens": tokens, "bots": bots, "webhooks": hooks}


async def _create_token(user, data) -> tuple[str, str]:
    owner_of = data.get("for") or ""
    target = user
    if owner_of and owner_of != user.get_username():
        bot = await Bot.objects.select_related("user").filter(owner=user, user__username=owner_of).afirst()
        if bot is None:
            return "error", _("not one of your bots")
        target = bot.user
    secret = keys.new_secret("ck")
    name = (data.get("name") or "").strip()[:80] or "token"
    await ApiToken.objects.acreate(user=target, name=name, prefix=secret.prefix, digest=secret.digest,
                                   created_by=user)
    return "new_token", secret.text


async def _create_bot(user, data) -> tuple[str, str]:
    name = (data.get("username") or "").strip()
    if not BOT_NAME.fullmatch(name):
        return "error", _("a bot's username is 1-60 of A-Z a-z 0-9 _ . -")
    users = get_user_model()
    if await users.objects.filter(username=name).aexists():
        return "error", _("that username is taken")
    bot_user = users(username=name)
    bot_user.set_unusable_password()  # a bot never logs in: it uses tokens
    await bot_user.asave()
    await Bot.objects.acreate(user=bot_user, owner=user)
    return "notice", _("bot %(name)s created") % {"name": name}


async def _create_webhook(user, data) -> tuple[str, str]:
    try:
        secret = await acreate_webhook(user, data.get("bot") or "", (data.get("room") or "").strip(),
                                       (data.get("name") or "").strip()[:80])
    except ProtocolError as e:
        return "error", f"{e.code}: {translate_detail(e.detail)}" + (f" ({e.field})" if e.field else "")
    return "new_webhook", secret.text


async def _revoke(user, data) -> tuple[str, str]:
    kind, prefix = data.get("kind"), data.get("prefix") or ""
    now = timezone.now()
    if kind == "token":
        bot_ids = [b async for b in Bot.objects.filter(owner=user).values_list("user_id", flat=True)]
        count = await ApiToken.objects.filter(prefix=prefix, user_id__in=[user.pk, *bot_ids],
                                              revoked_at__isnull=True).aupdate(revoked_at=now)
    else:
        count = await Webhook.objects.filter(prefix=prefix, bot__bot__owner=user,
                                             revoked_at__isnull=True).aupdate(revoked_at=now)
    return ("notice", _("revoked")) if count else ("error", _("nothing to revoke"))


ACTIONS = {"create_token": _create_token, "create_bot": _create_bot, "create_webhook": _create_webhook,
           "revoke": _revoke}


@login_required
@require_http_methods(["GET", "POST"])
async def tokens(request: HttpRequest) -> HttpResponse:
    """List, create and revoke tokens, bots and webhooks."""
    user = await request.auser()
    shown: dict[str, str] = {}
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            shown["error"] = _("unknown action")
        else:
            key, value = await action(user, request.POST)
            shown[key] = value
    context = {**await _context(user), **shown, "user": user, "base": request.build_absolute_uri("/")[:-1]}
    status = 400 if "error" in shown else 200
    # In a thread: the template's context processors may touch the database (request.user and the like).
    return await sync_to_async(render)(request, "chat_api/tokens.html", context, status=status)


async def docs(request: HttpRequest) -> HttpResponse:
    """The interactive API docs (Swagger UI served from django-ninja's own static files: no CDN)."""
    return api.docs.render_page(request, api)
