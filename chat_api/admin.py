"""Staff manage tokens, bots and webhooks in the admin: create a token for a user (shown once), revoke."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from . import keys
from .models import ApiToken, Bot, Webhook


@admin.action(description="Revoke the selected")
def revoke(modeladmin, request, queryset) -> None:
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    modeladmin.message_user(request, f"{count} revoked.")


class SecretAdmin(admin.ModelAdmin):
    actions = [revoke]
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    search_fields = ("name", "prefix")
    kind = ""

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # the add form only: revoke instead

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            secret = keys.new_secret(self.kind)
            obj.prefix, obj.digest, obj.created_by = secret.prefix, secret.digest, request.user
            super().save_model(request, obj, form, change)
            messages.warning(request, f"The new secret (shown once, copy it now): {secret.text}")
            return
        super().save_model(request, obj, form, change)


@admin.register(ApiToken)
class ApiTokenAdmin(SecretAdmin):
    kind = "ck"
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    raw_id_fields = ("user",)


@admin.register(Webhook)
class WebhookAdmin(SecretAdmin):
    kind = "wh"
    list_display = ("name", "room", "bot", "prefix", "created_at", "last_used_at", "revoked_at")
    raw_id_fields = ("bot",)


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    list_display = ("user", "owner", "created_at")
    raw_id_fields = ("user", "owner")
