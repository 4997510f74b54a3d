"""Staff create tokens in the admin (the secret shown once in a message) and revoke them with an action."""

from __future__ import annotations

import re

import pytest

from chat_api import keys
from chat_api.models import ApiToken

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def test_staff_create_a_token_shown_once_and_revoke_it(admin_client, django_user_model):
    owner = django_user_model.objects.create_user("scripter", password="x")
    answer = admin_client.post("/admin/chat_api/apitoken/add/", {"name": "nightly job", "user": owner.pk},
                               follow=True)
    assert answer.status_code == 200
    text = " ".join(str(m) for m in answer.context["messages"])
    secret = re.search(r"(ck_[0-9a-f]{8}_[A-Za-z0-9_-]{43})", text).group(1)
    token = ApiToken.objects.get(user=owner)
    assert token.prefix == keys.split(secret, "ck") and keys.matches(secret, token.digest)
    assert secret not in admin_client.get(f"/admin/chat_api/apitoken/{token.pk}/change/").content.decode()
    admin_client.post("/admin/chat_api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
