"""TLS for local Ignite nodes: the SslContextFactory XML, the control utility's flags, pyignite's arguments.

One Java keystore (PKCS12 or JKS) holds the node's private key and certificate. Without a separate
truststore the keystore doubles as one, which is what a single self-signed certificate needs.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .jvm import ClusterError


@dataclass(frozen=True)
class TlsConfig:
    """Server-side TLS of a LocalCluster plus what its own thin-client connections need to verify it."""

    keystore: Path
    keystore_password: str
    keystore_type: str = "PKCS12"
    truststore: Path | None = None
    truststore_password: str | None = None
    truststore_type: str = "PKCS12"
    client_auth: bool = False  # thin clients must present a certificate the truststore trusts
    cluster: bool = False  # also encrypt discovery and communication between nodes
    # PEM files for LocalCluster's own pyignite connections (readiness, activation, SQL).
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if not self.keystore_password:
            raise ValueError("a TLS keystore needs its password (IGNITE_SSL_KEYSTORE_PASSWORD)")
        if self.client_auth and not (self.cert_file and self.key_file):
            raise ValueError("sslClientAuth needs a client certificate and key (IGNITE_SSL_CERT_FILE/KEY_FILE)")

    @property
    def _trust(self) -> tuple[Path, str, str]:
        if self.truststore:
            return self.truststore, self.truststore_password or "", self.truststore_type
        return self.keystore, self.keystore_password, self.keystore_type

    def factory_bean(self, indent: str) -> str:
        """An org.apache.ignite.ssl.SslContextFactory bean (XML, attribute values escaped)."""
        trust_path, trust_password, trust_type = self._trust
        props = [
            ("keyStoreFilePath", str(Path(self.keystore).resolve())),
            ("keyStorePassword", self.keystore_password),
            ("keyStoreType", self.keystore_type),
            ("trustStoreFilePath", str(Path(trust_path).resolve())),
            ("trustStorePassword", trust_password),
            ("trustStoreType", trust_type),
        ]
        lines = [f'{indent}<bean class="org.apache.ignite.ssl.SslContextFactory">']
        lines += [f"{indent}  <property name={quoteattr(n)} value={quoteattr(v)}/>" for n, v in props]
        lines.append(f"{indent}</bean>")
        return "\n".join(lines)

    def client_connector_properties(self) -> str:
        """Properties inside ClientConnectorConfiguration: TLS on the thin-client port with its own factory."""
        indent = " " * 8
        client_auth = "true" if self.client_auth else "false"
        return (
            f'{indent}<property name="sslEnabled" value="true"/>\n'
            f'{indent}<property name="useIgniteSslContextFactory" value="false"/>\n'
            f'{indent}<property name="sslClientAuth" value="{client_auth}"/>\n'
            f'{indent}<property name="sslContextFactory">\n'
            f"{self.factory_bean(indent + '  ')}\n"
            f"{indent}</property>\n"
        )

    def node_properties(self) -> str:
        """IgniteConfiguration.sslContextFactory (discovery + communication), or nothing when off."""
        if not self.cluster:
            return ""
        return (
            '    <property name="sslContextFactory">\n'
            f"{self.factory_bean(' ' * 6)}\n"
            "    </property>\n"
        )

    def control_args(self) -> list[str]:
        """Flags that make Ignite's control utility speak TLS to the thin-client port."""
        trust_path, trust_password, trust_type = self._trust
        return [
            "--keystore", str(Path(self.keystore).resolve()),
            "--keystore-password", self.keystore_password,
            "--keystore-type", self.keystore_type,
            "--truststore", str(Path(trust_path).resolve()),
            "--truststore-password", trust_password,
            "--truststore-type", trust_type,
        ]

    def pyignite_kwargs(self) -> dict:
        """pyignite Client arguments; the server certificate is verified when a CA file is given."""
        kwargs: dict = {"use_ssl": True}
        if self.ca_file:
            kwargs.update(ssl_ca_certfile=str(self.ca_file), ssl_cert_reqs=ssl.CERT_REQUIRED)
        else:
            # Our own node on loopback, started from the keystore we were given: encryption suffices.
            kwargs["ssl_cert_reqs"] = ssl.CERT_NONE
        if self.cert_file:
            kwargs.update(ssl_certfile=str(self.cert_file), ssl_keyfile=str(self.key_file or self.cert_file))
        return kwargs


def tls_from_settings(conf: dict, options: dict) -> TlsConfig | None:
    """TlsConfig from IGNITE_SERVER's SSL_* keys (off unless SSL_KEYSTORE is set) and the store's PEM files."""
    if not conf.get("SSL_KEYSTORE"):
        return None

    def path(value: str | None) -> Path | None:
        return Path(value) if value else None

    try:
        return TlsConfig(
            keystore=Path(conf["SSL_KEYSTORE"]),
            keystore_password=conf.get("SSL_KEYSTORE_PASSWORD") or "",
            keystore_type=conf.get("SSL_KEYSTORE_TYPE") or "PKCS12",
            truststore=path(conf.get("SSL_TRUSTSTORE")),
            truststore_password=conf.get("SSL_TRUSTSTORE_PASSWORD"),
            truststore_type=conf.get("SSL_TRUSTSTORE_TYPE") or "PKCS12",
            client_auth=bool(conf.get("SSL_CLIENT_AUTH")),
            cluster=bool(conf.get("SSL_CLUSTER")),
            ca_file=path(options.get("ssl_ca_file")),
            cert_file=path(options.get("ssl_cert_file")),
            key_file=path(options.get("ssl_key_file")),
        )
    except ValueError as exc:
        raise ClusterError(str(exc)) from exc
