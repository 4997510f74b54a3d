"""Settings for the test suite: the production settings with test-only defaults."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("CHAT_VAR_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "chat-tests-var"))

from chatsite.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user creation in tests
