"""API tokens, bot users and incoming webhooks (Django's database, beside the users they belong to)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Bot(models.Model):
    """A user account that is a bot: it posts as itself, and its owner manages its tokens and webhooks."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bot")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bots")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} (bot of {self.owner})"


class Secret(models.Model):
    """The shared columns of a secret shown once (chat_api.keys): prefix to find it, SHA-256 to check it."""

    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=8, unique=True)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiToken(Secret):
    """A personal API token of a user (or of a bot, created by its owner)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"


class Webhook(Secret):
    """An incoming webhook: a secret URL that posts into one room as a bot."""

    bot = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    room = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) → {self.room} as {self.bot}"
