"""HTTP views: the chat page and the sign-up page (login/logout are Django's own views)."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from .forms import SignupForm
from .limits import current as current_limits


def _chat_config(request: HttpRequest, room: str | None) -> dict:
    """The values app.js needs, serialised into the page with json_script."""
    limits = current_limits()
    return {
        "user": request.user.get_username(),
        "wsPath": "/ws/chat/",
        "maxBodyChars": limits.max_body_chars,
        "historyPage": min(50, limits.history_page_max),
        "initialRoom": room,
        "roomUrl": reverse("chat:room", args=["ROOM"]),
        "indexUrl": reverse("chat:index"),
        "loginUrl": reverse("login"),
    }


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The chat application (the room list comes from the server over the socket)."""
    return render(request, "chat/index.html", {"chat_config": _chat_config(request, None)})


@login_required
def room(request: HttpRequest, name: str) -> HttpResponse:
    """Deep link to one room (by id): the same page, opening it first; the socket decides who may see it."""
    if not re.fullmatch(current_limits().room_pattern, name):
        raise Http404("No such room name")
    return render(request, "chat/index.html", {"chat_config": _chat_config(request, name)})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, log it in and go to the chat (or to a safe `next`)."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form, "next": next_url})
