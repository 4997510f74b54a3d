"""Incoming webhooks: POST a JSON `{"text": ...}` to a secret URL and it is posted in one room by a bot.

The URL's secret is shown once and stored hashed (chat_api.keys). A post is the bot's own send: the bot
must still be an active member of the room (Access.authorize), its owner active, the webhook not revoked.
Posts are rate-limited per webhook (and per bot) in Redis.
"""

from __future__ import annotations

import uuid

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from chat import room_commands
from chat.actor import Answers
from chat.protocol import Invite, ProtocolError, Send, parse_command
from chat.services import get_services

from . import keys, schemas
from .auth import user_may_act
from .limits import current as current_limits
from .models import Bot, Webhook
from .posting import post_message
from .ratelimit import Bucket, get_limiter

router = Router(tags=["webhooks"])
NOT_FOUND = ProtocolError("not_found", "no such webhook (or it was revoked)")


@router.post("/{token}", auth=None, response={201: schemas.SendOut, 200: schemas.SendOut,
                                              frozenset({400, 404, 413, 429, 503}): schemas.Error})
async def post(request: HttpRequest, token: str, payload: schemas.WebhookIn) -> HttpResponse:
    """Post `text` into the webhook's room as its bot. No other authentication: the URL is the secret."""
    prefix = keys.split(token, "wh")
    hook = None
    if prefix is not None:
        hook = await (Webhook.objects.select_related("bot", "bot__bot__owner")
                      .filter(prefix=prefix, revoked_at__isnull=True).afirst())
    if hook is None or not keys.matches(token, hook.digest) or not user_may_act(hook.bot):
        raise NOT_FOUND
    limits = current_limits()
    if int(request.META.get("CONTENT_LENGTH") or 0) > limits.max_request_bytes:
        raise ProtocolError("too_large", f"the request body is over {limits.max_request_bytes} bytes")
    await get_limiter().take(Bucket(f"hook:{prefix}", limits.webhook_rate_per_second, limits.webhook_burst))
    try:
        cmd = parse_command("send", {"room": hook.room, "body": payload.text,
                                     "client_id": payload.client_id or uuid.uuid4().hex}, Send)
    except ProtocolError as e:
        if e.field == "body":
            e.field = "text"  # the webhook's name for it
        raise
    await Webhook.objects.filter(pk=hook.pk).aupdate(last_used_at=timezone.now())
    me = Answers(hook.bot.get_username(), get_services())
    status, message = await post_message(me, cmd, hook.bot.pk)
    return HttpResponse(orjson.dumps(message), status=status, content_type="application/json")


async def acreate_webhook(owner, bot_username: str, room: str, name: str) -> keys.NewSecret:
    """A webhook of the owner's bot in `room`: the owner must be allowed to invite there, and the bot is
    invited (the room hears `member` added, as for any invite). Raises ProtocolError."""
    bot = await Bot.objects.select_related("user").filter(owner=owner, user__username=bot_username).afirst()
    if bot is None:
        raise ProtocolError("invalid", "not one of your bots", field="bot")
    cmd = parse_command("invite", {"room": room, "user": bot_username}, Invite)
    await room_commands.invite(Answers(owner.get_username(), get_services()), cmd)
    secret = keys.new_secret("wh")
    await Webhook.objects.acreate(name=name or f"webhook of {bot_username}", prefix=secret.prefix,
                                  digest=secret.digest, created_by=owner, bot=bot.user, room=cmd.room)
    return secret


