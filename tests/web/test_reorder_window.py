"""The page's reorder window (static/chat/room.js `awaitGap`, `noteHead`) in Chromium, without chat servers:
the same rule as the fault harness (tests/faults/harness.py, REORDER_SECONDS) and docs/protocol.md."""

from __future__ import annotations

import pytest

from .modules import module_page

pytestmark = pytest.mark.browser

SCRIPT = """
import { Room, REORDER_MS } from "/static/chat/room.js";
window.REORDER_MS = REORDER_MS;
window.msg = (seq) => ({ id: String(seq), room: "r", seq, author: "bo", body: `m${seq}`, client_id: `c${seq}`,
  created_at: 1764400000000 + seq, deleted: false });
window.synced = (count) => {
  const room = new Room({ room: "r", name: "r", kind: "public" }, "ana");
  const page = Array.from({ length: count }, (_, i) => msg(i + 1));
  room.insert(page);
  room.markSynced(page);
  document.body.append(room.log);
  return room;
};
window.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// What app.js does with a live message: a gap waits for the window, then asks (here: counts) a catch-up.
window.live = (room, seq, asked) => {
  if (room.hasGapBefore(seq)) room.awaitGap(() => asked.push(room.lastSeq));
  room.insert([msg(seq)]);
};
"""


@pytest.fixture(scope="module")
def page(browser):
    page = module_page(browser, SCRIPT)
    yield page
    assert not page.errors
    page.context.close()


def test_a_swapped_pair_asks_nothing_and_a_real_gap_asks_once_after_the_window(page):
    result = page.evaluate("""async () => {
        const room = synced(5);
        const asked = [];
        live(room, 7, asked);      // 6 and 7 swapped by two server processes
        await sleep(50);
        live(room, 6, asked);
        await sleep(REORDER_MS + 100);
        const afterSwap = asked.length;
        live(room, 9, asked);      // 8 was lost (Redis): nothing fills it
        live(room, 10, asked);     // one window for the gap, not one per message
        await sleep(REORDER_MS / 2);
        const early = asked.length;
        await sleep(REORDER_MS);
        return { window: REORDER_MS, afterSwap, early, asked, last: room.lastSeq };
    }""")
    assert result == {"window": 300, "afterSwap": 0, "early": 0, "asked": [7], "last": 7}


def test_heads_behind_the_room_ask_for_a_catch_up_and_heads_at_it_do_not(page):
    result = page.evaluate("""() => {
        const room = synced(5);
        return { behind: room.noteHead({ last_seq: 6, last_change_seq: 0 }),
                 current: room.noteHead({ last_seq: 5, last_change_seq: 0 }), known: room.knownLastSeq };
    }""")
    assert result == {"behind": True, "current": False, "known": 6}
