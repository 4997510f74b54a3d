"""Browser-test fixtures: one headless Chromium, Daphne servers that can be restarted on their port."""

from __future__ import annotations

import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.fixtures.daphne import BASE_DIR, DAPHNE_COMMAND, DaphneServer, _wait_until_serving, nodes_env

SCREENSHOTS = BASE_DIR / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct-horse-battery-9"


class WebServer:
    """A Daphne that keeps its port across restarts, so open pages reconnect to the same URL."""

    def __init__(self, env: dict, directory: Path):
        self.env = env
        self.directory = directory
        self.port = 0
        self.server: DaphneServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        """Start Daphne on a free port the first time, on the same port afterwards."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        log_path = self.directory / f"daphne-web-{self.port}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [*DAPHNE_COMMAND, "--fd", str(listener.fileno()), "chatsite.asgi:application"],
                cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, pass_fds=[listener.fileno()],
            )
        listener.close()  # only the child listens: while it is down, connections are refused
        self.server = DaphneServer(proc, self.port, log_path)
        _wait_until_serving(self.server)
        return self

    def stop(self) -> None:
        """Stop the process; the port stays free until start() binds it again."""
        if self.server is not None:
            self.server.stop()


@pytest.fixture(scope="session")
def web_server_factory(chat_site):
    """make(**env) -> WebServer started with chat_site's environment plus `env`; all stopped at the end."""
    servers: list[WebServer] = []

    def make(nodes=None, **extra_env) -> WebServer:
        env = {**chat_site.env, **{k: str(v) for k, v in extra_env.items()}}
        if nodes is not None:
            env["IGNITE_NODES"] = nodes_env(nodes)
        server = WebServer(env, chat_site.directory)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def web(web_server_factory) -> WebServer:
    """The Daphne most browser tests share (restarted in place by the reconnect test)."""
    return web_server_factory()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, without any network access of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def room() -> str:
    """A room name no other test uses."""
    return f"w-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def new_user(browser):
    """new_user(base_url, prefix, viewport=DESKTOP) -> a Page signed up through the sign-up form.

    With `login_as=username` the page logs that existing user in instead (a second device)."""
    contexts = []

    def make(base_url: str, prefix: str = "", viewport: dict | None = None, login_as: str | None = None):
        context = browser.new_context(viewport=viewport or DESKTOP)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        if login_as is not None:
            page.username = login_as
            page.goto(f"{base_url}/accounts/login/")
            page.fill("#id_username", login_as)
            page.fill("#id_password", PASSWORD)
        else:
            page.username = f"{prefix}{uuid.uuid4().hex[:6]}"
            page.goto(f"{base_url}/accounts/signup/")
            page.fill("#id_username", page.username)
            page.fill("#id_password1", PASSWORD)
            page.fill("#id_password2", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/**")
        page.wait_for_selector("#conn-state[data-state=connected]", state="attached")  # hidden in a drawer on a phone
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
