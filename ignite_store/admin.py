"""Chat-store pages in the Django admin: the cluster here, and pages other apps register.

Nothing here is a model: the history lives in Ignite, never in Django's database. The pages
are plain admin views added to the default site, wrapped by `site.admin_view` (staff only)
and listed on the admin index as a "Chat store (Apache Ignite)" section. The chat app adds
recent messages (moderation) and rooms (presence) with `register_page` from its own admin.py,
so the store imports nothing of the chat.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import admin_views

APP_LABEL = "ignite_store"
APP_NAME = _("Chat store (Apache Ignite)")
View = Callable[[HttpRequest], HttpResponse]
PAGES: list[tuple[str, str, str | Promise, View]] = [
    # (url name, object name, title, view); listed on the index by title, like Django's models
    ("cluster", "Cluster", _("Cluster"), admin_views.cluster_view),
]


def register_page(page: str, object_name: str, title: str | Promise, view: View) -> None:
    """Add a page at /admin/ignite_store/<page>/ (URL name 'ignite_store_<page>'); call it from an admin.py."""
    if any(existing == page for existing, *_rest in PAGES):
        raise ValueError(f"the chat-store admin page {page!r} is already registered")
    PAGES.append((page, object_name, title, view))


def url_name(page: str) -> str:
    """The admin URL name of one of our pages, e.g. 'ignite_store_messages'."""
    return f"{APP_LABEL}_{page}"


def app_entry(site: AdminSite) -> dict:
    """Our section of the admin index, shaped like an entry of AdminSite.get_app_list()."""
    models = []
    for page, object_name, title, _view in sorted(PAGES, key=lambda entry: str(entry[2]).lower()):
        url = reverse(f"{site.name}:{url_name(page)}", current_app=site.name)
        models.append(
            {
                "name": str(title),
                "object_name": object_name,
                "perms": {"add": False, "change": False, "delete": False, "view": True},
                "admin_url": url,
                "add_url": None,
                "view_only": True,
            }
        )
    return {
        "name": str(APP_NAME),
        "app_label": APP_LABEL,
        "app_url": reverse(f"{site.name}:{url_name('index')}", current_app=site.name),
        "has_module_perms": True,
        "models": models,
    }


def install(site: AdminSite) -> None:
    """Add the chat-store pages to `site` and its index (idempotent).

    Done on the instance so the project keeps `django.contrib.admin` and `admin.site`
    as they are; a custom AdminSite subclass would need an INSTALLED_APPS change.
    """
    if getattr(site, "_ignite_store_installed", False):
        return
    site._ignite_store_installed = True  # type: ignore[attr-defined]  # a mark on this instance only
    original_get_urls, original_get_app_list = site.get_urls, site.get_app_list

    def get_urls():
        extra = [path("ignite_store/", site.admin_view(admin_views.index_view), name=url_name("index"))]
        extra += [
            path(f"ignite_store/{page}/", site.admin_view(view), name=url_name(page))
            for page, _name, _title, view in PAGES
        ]
        return extra + original_get_urls()

    def get_app_list(request, app_label=None):
        app_list = original_get_app_list(request, app_label)
        if request.user.is_active and request.user.is_staff and app_label in (None, APP_LABEL):
            try:
                app_list = sorted([*app_list, app_entry(site)], key=lambda app: app["name"].lower())
            except NoReverseMatch:  # the site's URLs are not in this URLconf
                pass
        return app_list

    # Per instance, not on AdminSite: see the docstring.
    site.get_urls = get_urls  # type: ignore[method-assign]
    site.get_app_list = get_app_list  # type: ignore[method-assign]


install(admin.site)
