"""Who calls the API: a bearer token (a user's or a bot's) or the browser session (CSRF on unsafe methods).

Every request then passes `admit`: the body size limit, and the rate limit of its token and of its
user, counted in Redis across processes. A token works only while it is not revoked, its user is
active and, for a bot, the bot's owner is active: checked on every request, so deactivating a user
stops their tokens at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.utils import timezone
from ninja.security.base import AuthBase
from ninja.security.http import HttpBearer
from ninja.utils import check_csrf

from chat.protocol import ProtocolError

from . import keys
from .limits import current as current_limits
from .models import ApiToken
from .ratelimit import Bucket, get_limiter

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request (request.auth)."""

    user_id: int
    username: str
    token_prefix: str | None = None  # None: the browser session


def user_may_act(user) -> bool:
    """An active user; a bot also needs an active owner."""
    if not user.is_active:
        return False
    try:
        bot = user.bot
    except ObjectDoesNotExist:
        return True
    return bot.owner.is_active


async def admit(request: HttpRequest, caller: Caller) -> Caller:
    """The size limit, then one token from the caller's request buckets (token and user), or a refusal."""
    limits = current_limits()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limits.max_request_bytes:
        raise ProtocolError("too_large", f"the request body is over {limits.max_request_bytes} bytes")
    buckets = [Bucket(f"user:{caller.user_id}", limits.rate_per_second, limits.burst)]
    if caller.token_prefix is not None:
        buckets.append(Bucket(f"token:{caller.token_prefix}", limits.rate_per_second, limits.burst))
    await get_limiter().take(*buckets)
    return caller


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ck_...`: a personal or bot token."""

    async def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        prefix = keys.split(token, "ck")
        if prefix is None:
            return None
        found = await (ApiToken.objects.select_related("user", "user__bot__owner")
                       .filter(prefix=prefix, revoked_at__isnull=True).afirst())
        if found is None or not keys.matches(token, found.digest) or not user_may_act(found.user):
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > timedelta(
                seconds=current_limits().last_used_interval):
            await ApiToken.objects.filter(pk=found.pk).aupdate(last_used_at=now)
        return await admit(request, Caller(found.user.pk, found.user.get_username(), prefix))


class SessionAuth(AuthBase):
    """The browser's Django session; unsafe methods need the CSRF token (X-CSRFToken header), as Django forms do."""

    openapi_type = "apiKey"
    openapi_in = "cookie"
    openapi_name = settings.SESSION_COOKIE_NAME
    csrf = True  # tells the docs page (ninja's Swagger template) to send X-CSRFToken with "Try it out"

    async def __call__(self, request: HttpRequest) -> Caller | None:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        user = await request.auser()
        if not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise ProtocolError("csrf_failed", "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken")
        return await admit(request, Caller(user.pk, user.get_username()))


AUTH = [TokenAuth(), SessionAuth()]
