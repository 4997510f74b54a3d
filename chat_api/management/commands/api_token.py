"""Create an API token for a user (or a bot of an owner, created when missing) and print it once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chat_api import keys
from chat_api.models import ApiToken, Bot


class Command(BaseCommand):
    help = "Create an API token and print it (shown once). --bot-of OWNER makes USERNAME a bot of OWNER first."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--bot-of", dest="owner", help="the bot's owner (an existing user)")

    def handle(self, *args, username: str, name: str, owner: str | None, **options) -> None:
        users = get_user_model()
        if owner is not None:
            try:
                owner_user = users.objects.get(username=owner)
            except users.DoesNotExist as e:
                raise CommandError(f"no user {owner!r}") from e
            user, created = users.objects.get_or_create(username=username)
            if created:
                user.set_unusable_password()
                user.save()
            bot, _ = Bot.objects.get_or_create(user=user, defaults={"owner": owner_user})
            if bot.owner_id != owner_user.pk:
                raise CommandError(f"{username!r} is a bot of another user")
        else:
            try:
                user = users.objects.get(username=username)
            except users.DoesNotExist as e:
                raise CommandError(f"no user {username!r}") from e
        secret = keys.new_secret("ck")
        ApiToken.objects.create(user=user, name=name, prefix=secret.prefix, digest=secret.digest)
        self.stdout.write(secret.text)
