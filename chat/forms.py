"""Forms of the account pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm, UsernameField
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from .usernames import MAX_LENGTH, validate_username

# Usernames travel in every frame and show next to every message: keep them short and plain.
USERNAME_HELP = _("Up to 30 characters: letters (any alphabet, e.g. 김민지), digits and . _ - only.")


class LoginForm(AuthenticationForm):
    """Django's login form with attributes the page needs (autocomplete, autofocus)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class SignupForm(UserCreationForm):
    """Create an account with a username and a password typed twice."""

    # UsernameField normalises with NFKC (as User.normalize_username) before the validators run.
    username = UsernameField(
        label=_("Username"),
        max_length=MAX_LENGTH * 4,  # the validator says "at most 30", in the user's language
        help_text=USERNAME_HELP,
        validators=[validate_username],
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "maxlength": MAX_LENGTH,
                                      "spellcheck": "false", "autocapitalize": "off"}),
    )

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]  # django-stubs does not declare it
        model = User
        fields = ("username",)

    def clean_username(self) -> str:
        """Refuse a name that differs from an existing one only by case."""
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("That username is taken. Try another one."), code="taken")
        return username
