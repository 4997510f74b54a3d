"""Ignite authentication and TLS end to end: a real node with a keystore made by keytool at test time."""

from __future__ import annotations

import asyncio
import logging
import shutil
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from ignite_store.backends.ignite import IgniteMessageStore
from ignite_store.errors import StoreError, StoreUnavailable
from ignite_store.server.local import LocalCluster
from ignite_store.server.tls import TlsConfig
from tests.fixtures.servers import _discard_data, start_test_cluster

USER, PASSWORD = "chat_app", "s3cret 'quoted\" & <xml>"
KEYSTORE_PASSWORD = "ks-pass&<'\""  # needs XML escaping in node.xml


def make_keystore(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed PKCS12 keystore for 127.0.0.1 and its certificate as PEM, made with keytool."""
    keytool = shutil.which("keytool")
    if not keytool:
        pytest.fail("keytool (JDK 17) is not on PATH", pytrace=False)
    keystore, pem = directory / f"{name}.p12", directory / f"{name}.pem"
    common = ["-keystore", str(keystore), "-storetype", "PKCS12", "-storepass", KEYSTORE_PASSWORD]
    subprocess.run(
        [keytool, "-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
         "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-keypass", KEYSTORE_PASSWORD,
         "-noprompt", *common],
        check=True, capture_output=True,
    )
    subprocess.run(
        [keytool, "-exportcert", "-rfc", "-alias", name, "-file", str(pem), *common], check=True, capture_output=True
    )
    return keystore, pem


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("tls")
    keystore, pem = make_keystore(directory, "node")
    _, other_pem = make_keystore(directory, "other")
    return {"keystore": keystore, "pem": pem, "other_pem": other_pem}


@pytest.fixture(scope="module")
def secure_cluster(tmp_path_factory, certs) -> LocalCluster:
    """One node: TLS on the thin-client port and between nodes, authentication, a user of our own."""
    tls = TlsConfig(keystore=certs["keystore"], keystore_password=KEYSTORE_PASSWORD, cluster=True, ca_file=certs["pem"])
    began = time.monotonic()
    cluster = start_test_cluster(
        tmp_path_factory.mktemp("ignite-secure"), count=1, authentication=True, username=USER, password=PASSWORD,
        tls=tls,
    )
    print(f"\nsecure node (TLS + auth, user provisioned) ready in {time.monotonic() - began:.1f}s")
    yield cluster
    _discard_data(cluster)


def make_store(cluster: LocalCluster, **options) -> IgniteMessageStore:
    defaults = dict(username=USER, password=PASSWORD, use_ssl=True, timeout=3.0, backups=0, table_prefix="SEC")
    return IgniteMessageStore(cluster.client_addresses(), **{**defaults, **options})


def test_store_over_tls_with_credentials_appends_and_reads(secure_cluster, certs):
    store = make_store(secure_cluster, ssl_ca_file=str(certs["pem"]))
    try:
        store.ensure_schema()
        first = store.append("secure", "alice", "over TLS", uuid.uuid4().hex)
        page = store.latest("secure", 10)
        assert [m.body for m in page.messages][-1] == "over TLS"
        assert store.get("secure", first.message.seq).author == "alice"

        async def async_round_trip():
            result = await store.aappend("secure", "bob", "async over TLS", uuid.uuid4().hex)
            fetched = await store.aget("secure", result.message.seq)
            await store.aclose()
            return fetched

        assert asyncio.run(async_round_trip()).body == "async over TLS"
    finally:
        store.close()


def _assert_unavailable(store: IgniteMessageStore, limit: float) -> StoreUnavailable:
    began = time.monotonic()
    with pytest.raises(StoreError) as info:
        store.last_seq("secure")
    elapsed = time.monotonic() - began
    store.close()
    # The project's own exception, never a pyignite/ssl one, and within the timeout (one retry allowed).
    assert type(info.value) is StoreUnavailable, repr(info.value)
    assert elapsed < limit, f"took {elapsed:.1f}s"
    return info.value


def test_wrong_password_is_store_unavailable(secure_cluster, certs):
    error = _assert_unavailable(make_store(secure_cluster, ssl_ca_file=str(certs["pem"]), password="wrong"), 8)
    assert "credentials" in str(error)


def test_no_credentials_is_store_unavailable(secure_cluster, certs):
    _assert_unavailable(make_store(secure_cluster, ssl_ca_file=str(certs["pem"]), username=None, password=None), 8)


def test_plain_client_cannot_talk_to_the_tls_port(secure_cluster):
    _assert_unavailable(make_store(secure_cluster, use_ssl=False, timeout=2.0), 7)


def test_server_certificate_is_verified(secure_cluster, certs, caplog):
    # Trusting another certificate must fail the handshake: the store does not accept any certificate.
    # Other tests (ignite_status) turn loggers down; this one needs pyignite's own words.
    with caplog.at_level(logging.DEBUG, logger="pyignite"):
        _assert_unavailable(make_store(secure_cluster, ssl_ca_file=str(certs["other_pem"])), 8)
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text  # pyignite logs the cause, then raises ReconnectError


def test_local_cluster_tools_use_tls_and_credentials(secure_cluster):
    assert secure_cluster.cluster_state() == "ACTIVE"
    assert secure_cluster.baseline() == [("node-0", True)]
    assert "Cluster state: ACTIVE" in secure_cluster.control("--state")  # control utility: --user + --keystore
    assert secure_cluster.start(1) == []  # idempotent with TLS and authentication


def test_node_config_keeps_secrets_private_and_escaped(secure_cluster):
    config = secure_cluster.node_dir(0) / "node.xml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert 'name="sslEnabled" value="true"' in text
    assert 'name="useIgniteSslContextFactory" value="false"' in text
    assert "ks-pass&amp;&lt;'&quot;" in text  # quoteattr escaped the password
    assert PASSWORD not in text  # user passwords are never written to disk


def test_from_settings_reads_the_ssl_keys(tmp_path, certs, settings):
    server = {
        **settings.IGNITE_SERVER, "HOME": str(tmp_path), "SSL_KEYSTORE": str(certs["keystore"]),
        "SSL_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD, "SSL_CLIENT_AUTH": False, "SSL_CLUSTER": False,
    }
    store = {"default": {**settings.IGNITE_STORE["default"]}}
    store["default"]["OPTIONS"] = {
        **store["default"]["OPTIONS"], "username": USER, "password": PASSWORD, "ssl_ca_file": str(certs["pem"]),
    }
    with override_settings(IGNITE_SERVER={**server, "AUTHENTICATION": True}, IGNITE_STORE=store):
        cluster = LocalCluster.from_settings()
    assert cluster.tls is not None and cluster.tls.ca_file == certs["pem"] and not cluster.tls.cluster
    assert (cluster.username, cluster.password) == (USER, PASSWORD)
    text = cluster.render_config(0).read_text()
    assert text.count("org.apache.ignite.ssl.SslContextFactory") == 1  # thin-client port only, not discovery
