"""The user's language: chosen by the switcher, kept in the session, a cookie and the user's Preference.

Order of precedence: a signed-in user's saved choice (copied into the session at login), then
Django's LocaleMiddleware (the language cookie, then Accept-Language).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, cast

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import Preference

SESSION_KEY = "chat_language"


def supported(code: str | None) -> str | None:
    """`code` if it is one of settings.LANGUAGES, else None."""
    return code if code and code in dict(settings.LANGUAGES) else None


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: activate the language saved for this session's user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = supported(request.session.get(SESSION_KEY)) if hasattr(request, "session") else None
        if language and language != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def socket_language(scope: dict) -> str:
    """The language of a WebSocket, chosen as for a page of the same browser (session, cookie, Accept-Language)."""
    session = scope.get("session")
    # Channels' AuthMiddleware loaded the session to find the user: reading it here does not touch the database.
    saved = supported(session.get(SESSION_KEY)) if session is not None else None
    if saved:
        return saved
    request = HttpRequest()  # only what get_language_from_request reads
    request.COOKIES = scope.get("cookies") or {}
    for name, value in scope.get("headers") or ():
        if name == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    return translation.get_language_from_request(request)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The switcher's POST: remember `language` (session, cookie, the user's Preference) and go back."""
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    language = supported(request.POST.get("language"))
    if language is None:
        return response
    request.session[SESSION_KEY] = language
    if request.user.is_authenticated:
        Preference.objects.update_or_create(user=request.user, defaults={"language": language})
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=cast(Literal["Lax", "Strict", "None"] | None, settings.LANGUAGE_COOKIE_SAMESITE),
    )
    return response


def _restore_language(sender, request: HttpRequest, user, **kwargs) -> None:
    """At login: the saved choice wins; a choice made before logging in is saved for the user."""
    saved = Preference.objects.filter(user=user).values_list("language", flat=True).first()
    if supported(saved):
        request.session[SESSION_KEY] = saved
        return
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    chosen = supported(request.session.get(SESSION_KEY)) or supported(cookie)
    if chosen:
        Preference.objects.update_or_create(user=user, defaults={"language": chosen})
        request.session[SESSION_KEY] = chosen


def connect_signals() -> None:
    """Called from ChatConfig.ready()."""
    user_logged_in.connect(_restore_language, dispatch_uid="chat.locale.restore_language")
