"""Adds the chat's pages (chat/admin_views.py) to the store's section of the Django admin."""

from django.utils.translation import gettext_lazy as _

from ignite_store.admin import register_page

from . import admin_views

register_page("messages", "RecentMessages", _("Recent messages"), admin_views.messages_view)
register_page("rooms", "Rooms", _("Rooms"), admin_views.rooms_view)
