"""Forms of the account pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.models import User

# Usernames travel in every frame and show next to every message: keep them short and plain.
USERNAME_HELP = "Up to 30 characters: letters, digits and . _ - only."


class LoginForm(AuthenticationForm):
    """Django's login form with attributes the page needs (autocomplete, autofocus)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class SignupForm(UserCreationForm):
    """Create an account with a username and a password typed twice."""

    username = forms.RegexField(
        regex=r"^[A-Za-z0-9._-]{1,30}$",
        max_length=30,
        help_text=USERNAME_HELP,
        error_messages={"invalid": "Use only letters, digits and . _ - (at most 30 characters)."},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "maxlength": 30}),
    )

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]  # django-stubs does not declare it
        model = User
        fields = ("username",)

    def clean_username(self) -> str:
        """Refuse a name that differs from an existing one only by case."""
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken. Try another one.", code="taken")
        return username
