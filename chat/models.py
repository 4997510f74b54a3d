"""Per-user preferences kept in Django's own database (chat data lives in Ignite)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Preference(models.Model):
    """What a user chose for the page: for now the language (empty: follow the browser)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_preference")
    language = models.CharField(_("language"), max_length=10, blank=True, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("preference")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language or '-'}"
