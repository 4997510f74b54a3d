"""What a username may be: letters and digits of any script (`김민지`, `élodie`), `.`, `_`, `-`.

Django's UnicodeUsernameValidator, narrowed to the characters mentions and DM names can carry
(no `@`, `+` or `,`), after NFKC normalisation, plus what a regex cannot say clearly:
- invisible characters (zero-width spaces and joiners, Hangul fillers) and bidi controls (RLO, ...),
  which make two different names look the same or reorder what is shown around them;
- letters of several scripts in one name beyond the mixes that are normal in writing (Unicode TS #39
  "highly restrictive": one script, or Latin with Han and Hangul, or with Han, Hiragana and Katakana,
  or with Han and Bopomofo), so `pаypal` with a Cyrillic `а` is refused.
"""

from __future__ import annotations

import unicodedata

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 30

# Bidirectional formatting characters (Unicode's Bidi_Control property).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters (category Lo) that render as nothing: the Hangul fillers.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")

# Unicode TS #39, 5.2 "Highly Restrictive": the scripts one name may mix.
ALLOWED_SCRIPT_SETS = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)
# The first word of a character's Unicode name, for the scripts whose name does not say it plainly.
_SCRIPT_BY_NAME_WORD = {"CJK": "Han", "IDEOGRAPHIC": "Han", "HALFWIDTH": "Katakana", "KATAKANA-HIRAGANA": "Katakana"}


def normalize(username: str) -> str:
    """NFKC, as Django's AbstractBaseUser.normalize_username: fullwidth `ｍｉｎｊｉ` becomes `minji`."""
    return unicodedata.normalize("NFKC", username)


def script_of(char: str) -> str | None:
    """The script of a letter (`Latin`, `Hangul`, `Cyrillic`, ...); None for digits, `_`, `.`, `-`."""
    if not char.isalpha():
        return None
    word = unicodedata.name(char, "UNKNOWN").split(" ")[0]
    return _SCRIPT_BY_NAME_WORD.get(word, word.capitalize())


def scripts_of(username: str) -> set[str]:
    """Every script of the letters in `username`."""
    return {script for script in map(script_of, username) if script is not None}


def mixes_scripts(username: str) -> bool:
    """True when the letters' scripts are not one script nor one of the usual mixes."""
    scripts = scripts_of(username)
    return len(scripts) > 1 and not any(scripts <= allowed for allowed in ALLOWED_SCRIPT_SETS)


def _is_invisible(char: str) -> bool:
    # Cf: zero-width space/joiners, word joiner, BOM, soft hyphen...; spaces fail the regex, with its message.
    return char in INVISIBLE_LETTERS or unicodedata.category(char) in ("Cf", "Cc", "Zl", "Zp")


@deconstructible
class UsernameValidator(UnicodeUsernameValidator):
    """The username rules of the sign-up form; each refusal says which rule, in the user's language."""

    regex = r"^[\w.-]+\Z"
    message = _("Use only letters, digits and . _ - (at most 30 characters).")

    def __call__(self, value: str) -> None:
        value = str(value)
        if any(char in BIDI_CONTROLS for char in value):
            raise ValidationError(
                _("The name contains a text-direction control character (such as RLO). Type it without one."),
                code="bidi_control",
            )
        if any(_is_invisible(char) for char in value):
            raise ValidationError(
                _("The name contains an invisible character (a zero-width character or a filler). "
                  "Use only visible letters and digits."),
                code="invisible",
            )
        if len(value) > MAX_LENGTH:
            raise ValidationError(self.message, code="invalid")
        super().__call__(value)
        if mixes_scripts(value):
            raise ValidationError(
                _("The name mixes letters of different alphabets (%(scripts)s), which can look like another "
                  "name. Use one alphabet."),
                code="mixed_scripts",
                params={"scripts": ", ".join(sorted(scripts_of(value)))},
            )


validate_username = UsernameValidator()
