import uuid

import pytest


@pytest.fixture
def room():
    """A room name no other test uses."""
    return f"adm-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("moderator", password="x", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def plain_client(client, django_user_model):
    user = django_user_model.objects.create_user("plainuser", password="x")
    client.force_login(user)
    return client
