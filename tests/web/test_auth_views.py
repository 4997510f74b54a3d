"""Sign up, log in, log out and the chat page's access rules, through Django's test client."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.unit]

PASSWORD = "correct-horse-battery-9"


def signup(client, username="ana", password1=PASSWORD, password2=PASSWORD, **extra):
    data = {"username": username, "password1": password1, "password2": password2, **extra}
    return client.post(reverse("signup"), data)


def test_signup_page_has_a_csrf_protected_form(client):
    response = client.get(reverse("signup"))
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
    assert b'name="password2"' in response.content


def test_signup_creates_the_user_logs_in_and_opens_the_chat(client):
    response = signup(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("chat:index")
    assert User.objects.filter(username="ana").exists()
    assert client.get(reverse("chat:index")).status_code == 200


def test_signup_follows_a_safe_next_but_not_a_foreign_one(client):
    assert signup(client, next="/room/dev/")["Location"] == "/room/dev/"
    other = Client()
    assert signup(other, username="bo", next="https://evil.example/")["Location"] == reverse("chat:index")


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"password2": "something-else-42"}, "password2", "didn’t match"),
        ({"username": "bad name!"}, "username", "letters, digits"),
        ({"password1": "123", "password2": "123"}, "password2", "too short"),
    ],
)
def test_signup_shows_clear_errors(client, data, field, text):
    response = signup(client, **data)
    assert response.status_code == 200
    assert text in " ".join(response.context["form"].errors[field])
    assert text.encode() in response.content
    assert not User.objects.exists()


def test_signup_refuses_a_taken_name_whatever_its_case(client):
    User.objects.create_user("Ana", password=PASSWORD)
    response = signup(client, username="ana")
    assert response.status_code == 200
    assert b"That username is taken" in response.content


def test_signup_and_login_redirect_a_logged_in_user(client):
    signup(client)
    assert client.get(reverse("signup"))["Location"] == reverse("chat:index")
    assert client.get(reverse("login"))["Location"] == reverse("chat:index")


def test_login_with_a_wrong_password_says_so(client):
    User.objects.create_user("ana", password=PASSWORD)
    response = client.post(reverse("login"), {"username": "ana", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert b'role="alert"' in response.content


def test_login_then_logout_by_post(client):
    User.objects.create_user("ana", password=PASSWORD)
    response = client.post(reverse("login"), {"username": "ana", "password": PASSWORD})
    assert response["Location"] == reverse("chat:index")
    page = client.get(reverse("chat:index"))
    assert b'id="chat-config"' in page.content
    assert page.context["chat_config"]["user"] == "ana"
    assert client.get(reverse("logout")).status_code == 405  # logout is POST only
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client.get(reverse("chat:index")).status_code == 302


def test_forms_refuse_posts_without_the_csrf_token():
    User.objects.create_user("ana", password=PASSWORD)
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("login"), {"username": "ana", "password": PASSWORD}).status_code == 403
    assert signup(client, username="bo").status_code == 403
    client.force_login(User.objects.get(username="ana"))
    assert client.post(reverse("logout")).status_code == 403


def test_chat_pages_need_a_login(client):
    response = client.get(reverse("chat:room", args=["general"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_room_deep_link_opens_that_room_and_refuses_bad_names(client):
    client.force_login(User.objects.create_user("ana", password=PASSWORD))
    response = client.get(reverse("chat:room", args=["dev-team"]))
    assert response.status_code == 200
    assert response.context["chat_config"]["initialRoom"] == "dev-team"
    assert client.get("/room/Not_Valid/").status_code == 404


def test_chat_page_loads_its_script_and_styles(client):
    client.force_login(User.objects.create_user("ana", password=PASSWORD))
    content = client.get(reverse("chat:index")).content.decode()
    assert 'type="module"' in content and "chat/app.js" in content and "chat/app.css" in content
