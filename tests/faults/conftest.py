"""The fault rig: a private 2-node Ignite cluster (backups=1), a private Redis and two Daphnes on them.

Everything here may be killed by a scenario, so nothing is shared with the session `ignite_cluster`
or `redis_url`. Figures of every scenario are written to var/faults/<scenario>.json (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ignite_store.backends.ignite import IgniteMessageStore
from ignite_store.server.local import LocalCluster
from tests.fixtures.api_site import ApiSite
from tests.fixtures.rooms import ensure_public_rooms
from tests.fixtures.servers import start_test_cluster

from .harness import READ_FLUSH_WAIT, LoadClient, MembershipChurn, wait_for_read_markers
from .servers import BASE_DIR, RedisServer

REPORT_DIR = BASE_DIR / "var" / "faults"
FAULT_USERS = [f"fu{i}" for i in range(32)]
CHURN_OWNER, CHURN_MEMBER = FAULT_USERS[-2], FAULT_USERS[-1]  # used by no load client (those are fu0..fu23)
MUTATE_EVERY = 4  # mixed load: one tick in four edits, reacts, unreacts or deletes instead of sending
REST_EVERY = 5  # mixed load: one new message in five, and one change in five, goes over the HTTP API
RIG_ENV = {
    # Load must not be refused by the per-user limits (the flood test covers those).
    "CHAT_SEND_RATE_PER_SECOND": 1000, "CHAT_SEND_BURST": 1000,
    "CHAT_FRAME_RATE_PER_SECOND": 2000, "CHAT_FRAME_BURST": 4000,
    "CHAT_API_RATE_PER_SECOND": 1000, "CHAT_API_BURST": 1000,
    "CHAT_API_SEND_RATE_PER_SECOND": 1000, "CHAT_API_SEND_BURST": 1000,
    "CHAT_PRESENCE_TTL_SECONDS": 3, "IGNITE_TIMEOUT": 3,
}


@dataclass
class FaultRig:
    """What the scenarios drive and break."""

    cluster: LocalCluster
    redis: RedisServer
    daphnes: list
    cookies: dict[str, str]
    tokens: dict[str, str]  # API tokens of FAULT_USERS
    site: object
    factory: object
    nodes: list[tuple[str, int]]

    def store(self) -> IgniteMessageStore:
        """A fresh store client on every node of the rig (for the checker)."""
        return IgniteMessageStore(self.nodes, timeout=10.0)

    def start_daphne(self, **env):
        """One more Daphne on the rig's cluster and Redis."""
        return self.factory(nodes=self.nodes, REDIS_URL=self.redis.url, **{**RIG_ENV, **env})

    def clients(self, count: int, rooms: list[str], servers: list | None = None, *, rate: float = 5.0,
                first_user: int = 0, mixed: bool = False) -> list[LoadClient]:
        """`count` load clients spread over the Daphnes (each may reconnect to any of them). `mixed`: issue
        17's load, where the clients also edit, delete, react, mention each other and use the HTTP API."""
        servers = servers or self.daphnes
        store = self.store()
        try:
            ensure_public_rooms(*rooms, store=store)
        finally:
            store.close()
        made = []
        for i in range(count):
            name = FAULT_USERS[first_user + i]
            ordered = servers[i % len(servers):] + servers[:i % len(servers)]
            client = LoadClient(f"{name}-{int(time.time() * 1000) % 100000}", self.cookies[name], ordered, rooms,
                                rate=rate)
            if mixed:
                client.mutate_every, client.rest_every, client.rest_token = MUTATE_EVERY, REST_EVERY, self.tokens[name]
                client.mention_users = [FAULT_USERS[first_user + j] for j in range(count) if j != i]
            made.append(client)
        return made


@pytest.fixture(scope="session")
def fault_rig(tmp_path_factory, chat_site, daphne_factory) -> FaultRig:
    """Start the rig once per run; scenarios leave it healthy for the next one."""
    cluster = start_test_cluster(tmp_path_factory.mktemp("fault-ignite"), count=2)
    redis = RedisServer(tmp_path_factory.mktemp("fault-redis"))
    try:
        redis.start()
        nodes = cluster.client_addresses()
        chat_site.manage("ignite_init", "-v", "0", nodes=nodes)
        cookies = {name: f"sessionid={key}" for name, key in chat_site.login(*FAULT_USERS).items()}
        tokens = ApiSite(chat_site).tokens(*FAULT_USERS)
        rig = FaultRig(cluster, redis, [], cookies, tokens, chat_site, daphne_factory, nodes)
        rig.daphnes = [rig.start_daphne(), rig.start_daphne()]
    except Exception as exc:
        redis.stop()
        cluster.stop()
        pytest.fail(f"fault rig could not start: {exc}", pytrace=False)
    yield rig
    redis.stop()
    cluster.stop()


async def start_churn(rig: FaultRig, first_user: int, count: int) -> MembershipChurn:
    """A private room whose owner keeps removing and re-inviting CHURN_MEMBER; the load clients
    FAULT_USERS[first_user:first_user + count] are invited (add churn.room to their rooms)."""
    churn = MembershipChurn(rig.cookies[CHURN_OWNER], CHURN_MEMBER, rig.cookies[CHURN_MEMBER], rig.daphnes)
    await churn.create(FAULT_USERS[first_user:first_user + count])
    return churn


def record_figures(scenario: str, figures: dict) -> None:
    """Keep the figures of the last run (docs/reliability.md quotes them) and print them."""
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    figures = {"scenario": scenario, "at": time.strftime("%Y-%m-%d %H:%M:%S"), **figures}
    Path(REPORT_DIR / f"{scenario}.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"\nFIGURES {scenario}: {json.dumps(figures, default=str)}")


async def run_clients(clients: list[LoadClient]) -> None:
    """Start every client (connect + join)."""
    await asyncio.gather(*(c.start() for c in clients))


async def finish(clients: list[LoadClient], store, rooms: list[str], *, drain: float = 60.0) -> dict[str, int]:
    """Stop new sends, wait for retries to be acked, sync every client to the stored last seqs, then close
    the clients so their logs are frozen before the checker reads Ignite (no ack can arrive after)."""
    await asyncio.gather(*(c.drain(drain) for c in clients))
    last = {room: await asyncio.to_thread(store.last_seq, room) for room in rooms}
    await asyncio.gather(*(c.sync(last, 20.0) for c in clients))
    await asyncio.gather(*(c.close() for c in clients))
    await asyncio.to_thread(wait_for_read_markers, store, clients, READ_FLUSH_WAIT)
    return last
