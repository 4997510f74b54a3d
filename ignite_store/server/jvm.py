"""JVM-side helpers for local Ignite nodes: launch flags, loopback ports, log tails, the errors raised."""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOOPBACK = "127.0.0.1"

# The list Ignite's bin/include/jvmdefaults.sh adds on Java 15+; without it the node dies on Buffer.address.
JAVA_OPENS = [
    "java.base/jdk.internal.access", "java.base/jdk.internal.misc", "java.base/sun.nio.ch",
    "java.base/sun.util.calendar", "java.management/com.sun.jmx.mbeanserver",
    "jdk.internal.jvmstat/sun.jvmstat.monitor", "java.base/sun.reflect.generics.reflectiveObjects",
    "jdk.management/com.sun.management.internal", "java.base/java.io", "java.base/java.nio",
    "java.base/java.net", "java.base/java.util", "java.base/java.util.concurrent",
    "java.base/java.util.concurrent.locks", "java.base/java.util.concurrent.atomic", "java.base/java.lang",
    "java.base/java.lang.invoke", "java.base/java.math", "java.sql/java.sql", "java.base/java.lang.reflect",
    "java.base/java.time", "java.base/java.text", "java.management/sun.management",
    "java.desktop/java.awt.font",
]
JVM_FLAGS = [f"--add-opens={module}=ALL-UNNAMED" for module in JAVA_OPENS] + [
    "-Djava.net.preferIPv4Stack=true",
    "-DIGNITE_QUIET=true",
    "-DIGNITE_UPDATE_NOTIFIER=false",  # no network calls home
    "-DIGNITE_NO_ASCII=true",
    "-DIGNITE_PERFORMANCE_SUGGESTIONS_DISABLED=true",
    # By default a node rebalancing partitions turns the WAL off for them; stopped or killed in the
    # middle of a checkpoint then, it refuses to start again ("Maintenance Mode", seen in
    # tests/store/test_cluster_faults.py when a node restarted right after rejoining). Slower
    # rebalancing is the price of a node that always restarts.
    "-DIGNITE_DISABLE_WAL_DURING_REBALANCING=false",
    "-XX:+UseG1GC",
    "-XX:+DisableExplicitGC",
]
STARTUP_CLASS = "org.apache.ignite.startup.cmdline.CommandLineStartup"
CONTROL_CLASS = "org.apache.ignite.internal.commandline.CommandHandler"


class ClusterError(RuntimeError):
    """A local node could not be started, stopped or configured."""


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on host:port (checked by binding it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Java binds its listeners with SO_REUSEADDR, so TIME_WAIT leftovers do not make a port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def log_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file (for error messages)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def quiet_pyignite() -> Iterator[None]:
    """Silence pyignite's ERROR tracebacks for connection attempts expected to fail while a node boots."""
    logger = logging.getLogger("pyignite")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def find_free_port_base(width: int, low: int = 12000, high: int = 32000, attempts: int = 200) -> int:
    """A random port p in [low, high) such that p..p+width-1 are all free on 127.0.0.1.

    Stays below Linux's ephemeral range (32768+) so outgoing connections do not steal the ports later.
    """
    for _ in range(attempts):
        base = random.randrange(low, high - width)
        if all(port_is_free(port) for port in range(base, base + width)):
            return base
    raise ClusterError(f"no block of {width} free ports found in {low}..{high}")
