"""Views behind the chat-store admin pages (index, cluster), and the helpers every page of the
section shares. Each page degrades to a banner when Ignite is down. The chat app adds its own
pages about the store (moderation, rooms and presence) through ignite_store.admin.register_page.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from . import stores
from .admin_svg import partition_svg
from .cluster_report import format_duration
from .errors import StoreError


def admin_context(request: HttpRequest, title: str, **extra) -> dict:
    """The admin's own context (site header, sidebar, user links) plus ours."""
    return {**admin.site.each_context(request), "title": title, "subtitle": None, "app_label": "ignite_store",
            "store_error": None, **extra}


def unavailable(exc: StoreError) -> str:
    """The banner shown when Ignite did not answer."""
    return _("The Ignite cluster is unavailable: %(error)s") % {"error": exc}


def when(ms: int | None) -> dt.datetime | None:
    """Epoch milliseconds as an aware UTC datetime, for the |date filter."""
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


# ---------------------------------------------------------------- index


def index_view(request: HttpRequest) -> HttpResponse:
    """The section's app index: links to its pages."""
    context = admin_context(
        request,
        _("Chat store (Apache Ignite) administration"),
        app_list=admin.site.get_app_list(request, "ignite_store"),
    )
    return TemplateResponse(request, "admin/app_index.html", context)


# ---------------------------------------------------------------- cluster


def cluster_view(request: HttpRequest) -> HttpResponse:
    """Nodes, state, baseline, caches and a picture of the partitions per node."""
    context = admin_context(request, _("Ignite cluster"), report=None)
    try:
        report = stores["default"].cluster_info()
    except StoreError as exc:
        context["store_error"] = unavailable(exc)
        return TemplateResponse(request, "admin/ignite_store/cluster.html", context)
    for node in report["nodes"]:
        node["uptime"] = format_duration(node["uptime_ms"])
    context["report"] = report
    context["pictures"] = [{"group": group, "svg": partition_svg(group)} for group in report["partitions"]]
    return TemplateResponse(request, "admin/ignite_store/cluster.html", context)
