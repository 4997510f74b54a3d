"""Usernames in any alphabet; invisible, bidi-control and mixed-script names refused with a clear message."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from chat.fanout import group_name, user_channel
from chat.forms import SignupForm
from chat.mentions import candidate_names
from chat.room_commands import direct_room_id
from chat.usernames import mixes_scripts, normalize, validate_username
from ignite_store.validation import validate_author

pytestmark = pytest.mark.unit
PASSWORD = "correct-horse-battery-9"


def refusal(name: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_username(normalize(name))
    return caught.value


@pytest.mark.parametrize(
    "name", ["김민지", "minji", "Kim민지", "김민지_2", "山田たろう", "élodie", "Иван", "Ελένη", "min.ji-kim"]
)
def test_names_in_one_alphabet_or_a_usual_mix_are_accepted(name):
    validate_username(normalize(name))


@pytest.mark.parametrize(
    "name", ["민\u200b지", "min\u200dji", "\ufeffminji", "민지\u3164", "\u115f민지", "mi\u00adnji"]
)
def test_invisible_characters_are_refused(name):
    assert refusal(name).code == "invisible"


@pytest.mark.parametrize("name", ["min\u202eij", "\u200fminji", "min\u2066ji\u2069", "김\u202d민지"])
def test_bidi_controls_are_refused(name):
    assert refusal(name).code == "bidi_control"


@pytest.mark.parametrize("name", ["pаypal", "аdmin", "Ivanоv", "ΑΒCD"])  # Cyrillic а/о, Greek Α/Β in Latin
def test_latin_mixed_with_cyrillic_or_greek_is_refused(name):
    error = refusal(name)
    assert error.code == "mixed_scripts"
    assert "Latin" in error.params["scripts"]
    assert mixes_scripts(name)


@pytest.mark.parametrize("name", ["x@y", "a b", "a,b", "a+b", "a" * 31, "!"])
def test_other_characters_and_long_names_are_refused(name):
    assert refusal(name).code == "invalid"


def test_fullwidth_letters_are_normalised_before_the_checks():
    assert normalize("ｍｉｎｊｉ") == "minji"


@pytest.mark.django_db
def test_the_signup_form_takes_a_korean_name_and_normalises_it():
    form = SignupForm({"username": "김민지", "password1": PASSWORD, "password2": PASSWORD})
    assert form.is_valid(), form.errors
    assert form.save().username == "김민지"
    again = SignupForm({"username": "김민지", "password1": PASSWORD, "password2": PASSWORD})
    assert not again.is_valid()


@pytest.mark.django_db
def test_refusals_are_written_in_the_users_language(client):
    url = reverse("signup")
    response = client.post(url, {"username": "pаypal", "password1": PASSWORD, "password2": PASSWORD},
                           HTTP_ACCEPT_LANGUAGE="ko")
    assert "서로 다른 문자 체계" in response.content.decode()
    response = client.post(url, {"username": "min\u202eij", "password1": PASSWORD, "password2": PASSWORD},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert "text-direction control character" in response.content.decode()
    assert not User.objects.exists()
    with translation.override("ko"):
        assert "보이지 않는 문자" in refusal("민\u200b지").messages[0]


def test_a_korean_name_fits_the_store_the_dm_ids_and_the_channel_groups():
    assert validate_author("김민지") == "김민지"
    room = direct_room_id(["김민지", "bo"])
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", room)
    assert room == direct_room_id(["bo", "김민지"])
    # Channels' group names: ASCII letters, digits, hyphens, underscores and periods, under 100 characters.
    for shards in (1, 16):
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,99}", group_name(user_channel("김민지"), shards))
    assert user_channel("김민지") != user_channel("김민지2")  # the hub's key, carried in each event


def test_a_korean_name_is_mentioned():
    assert candidate_names("@김민지 회의 시작해요, @이서준.") == ["김민지", "이서준.", "이서준"]
    assert candidate_names("메일은 minji@example.com") == []
