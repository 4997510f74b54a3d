"""The page's Room and change cursor (static/chat/room.js, changes.js) in Chromium, without chat servers:
which message state wins, when a change gap asks for a catch-up, what a reconnect asks for, mention counts."""

from __future__ import annotations

import pytest

from .modules import module_page

pytestmark = pytest.mark.browser

SCRIPT = """
import { Room } from "/static/chat/room.js";
import * as changes from "/static/chat/changes.js";
window.Room = Room;
window.changes = changes;
window.msg = (seq, extra) => ({ id: String(seq), room: "r", seq, author: "bo", body: `m${seq}`, client_id: `c${seq}`,
  created_at: 1764400000000 + seq, deleted: false, ...extra });
window.synced = (count, lastChange) => {
  const room = new Room({ room: "r", name: "r", kind: "public" }, "ana");
  const page = Array.from({ length: count }, (_, i) => msg(i + 1));
  changes.noteJoined(room, { last_seq: count, last_change_seq: lastChange });
  room.insert(page);
  room.markSynced(page);
  document.body.append(room.log);
  return room;
};
window.setupActions = async () => {
  const { setupMessageActions } = await import("/static/chat/message_actions.js");
  const form = document.createElement("form");
  const input = document.createElement("textarea");
  form.append(input);
  const logs = document.createElement("div");
  document.body.append(form, logs);
  window.loads = 0;
  return setupMessageActions({ logs, input, me: "ana", rooms: new Map(), send: () => true, limits: () => ({}),
    confirm: async () => true, toast: () => {}, newClientId: () => "id", historyPage: 50,
    loadMore: () => { window.loads += 1; } });
};
window.bodyOf = (room, seq) => room.rows.get(seq).querySelector(".msg-body").innerText;
"""


@pytest.fixture(scope="module")
def page(browser):
    page = module_page(browser, SCRIPT)
    yield page
    assert not page.errors
    page.context.close()


def test_updates_apply_in_order_and_a_skipped_change_asks_for_a_catch_up(page):
    result = page.evaluate("""async () => {
        const room = synced(5, 10);
        const out = { start: room.lastChange };
        out.inOrder = changes.applyUpdate(room, msg(2, { body: "edited", edited_at: 1, change_seq: 11 }));
        out.afterInOrder = room.lastChange;
        out.skipped = changes.applyUpdate(room, msg(3, { deleted: true, body: "", change_seq: 13 }));
        out.afterSkip = room.lastChange;   // waits: 12 may still come (reorder window)
        out.late = changes.applyUpdate(room, msg(4, { reactions: [{ emoji: "👍", count: 1, users: ["ana"] }],
            change_seq: 12 }));
        out.afterLate = room.lastChange;   // 12 and 13 both applied
        out.skippedAgain = changes.applyUpdate(room, msg(1, { body: "v2", edited_at: 2, change_seq: 15 }));
        const asked = [];
        changes.awaitChanges(room, () => asked.push(changes.changesRequest(room)));
        await new Promise((resolve) => setTimeout(resolve, 500));   // 14 never came
        out.asked = asked;
        out.pending = changes.changesPending(room);
        changes.applyChangesPage(room, { room: "r", messages: [msg(5, { body: "five", edited_at: 3, change_seq: 14 }),
            msg(1, { body: "v2", edited_at: 2, change_seq: 15 })], has_more: false, last_change_seq: 15 });
        out.afterPage = room.lastChange;
        out.ahead = room.changesAhead.size;
        out.pendingAfter = changes.changesPending(room);
        out.bodies = [1, 2, 3, 4, 5].map((s) => bodyOf(room, s));
        out.chips = room.rows.get(4).querySelectorAll(".reaction").length;
        return out;
    }""")
    assert result == {
        "start": 10, "inOrder": False, "afterInOrder": 11, "skipped": True, "afterSkip": 11, "late": False,
        "afterLate": 13, "skippedAgain": True, "asked": [{"type": "catchup", "room": "r", "after_change": 13}],
        "pending": True, "afterPage": 15, "ahead": 0, "pendingAfter": False,
        "bodies": ["v2 (edited)", "edited (edited)", "message deleted", "m4", "five (edited)"], "chips": 1,
    }


def test_an_older_state_never_overwrites_a_newer_one(page):
    result = page.evaluate("""() => {
        const room = synced(3, 0);
        room.insert([msg(2, { body: "v2", change_seq: 5, edited_at: 1 })]);       // a page overlapping what is shown
        const newer = bodyOf(room, 2);
        room.replaceMessage(msg(2, { body: "v1", change_seq: 4, edited_at: 1 })); // a late update
        room.insert([msg(2)]);                                                  // a stale page
        const kept = bodyOf(room, 2);
        room.addPending("hi @bo", "mine", {});
        room.acknowledge({ client_id: "mine", id: "4", seq: 4, created_at: 1764400000004 });
        const fromAck = room.messages.get(4).mentions;
        room.insert([{ ...msg(4, { author: "ana", body: "hi @bo", client_id: "mine", mentions: ["bo"] }) }]);
        return { newer, kept, fromAck: fromAck ?? null, fromServer: room.messages.get(4).mentions,
                 marked: room.rows.get(4).querySelectorAll(".mention").length };
    }""")
    assert result == {"newer": "v2 (edited)", "kept": "v2 (edited)", "fromAck": None, "fromServer": ["bo"],
                      "marked": 1}


def test_reconnect_asks_for_messages_and_changes_after_the_cursors(page):
    result = page.evaluate("""() => {
        const room = synced(7, 3);
        changes.applyUpdate(room, msg(1, { body: "x", change_seq: 4 }));
        const frame = changes.joinCursor(room);
        const waiting = changes.changesPending(room);
        changes.noteJoined(room, { last_seq: 7, last_change_seq: 4 });  // nothing changed meanwhile
        return { frame, waiting, after: changes.changesPending(room) };
    }""")
    assert result == {"frame": {"after": 7, "after_change": 4}, "waiting": True, "after": False}


def test_a_jump_leaves_a_hole_that_is_filled_from_its_top(page):
    result = page.evaluate("""() => {
        const room = synced(0, 0);
        room.insert(Array.from({ length: 10 }, (_, i) => msg(91 + i)));
        room.insert(Array.from({ length: 5 }, (_, i) => msg(20 + i)));  // the page around seq 22
        room.jumped = true;
        const hole = room.holeAbove();
        room.insert(Array.from({ length: 66 }, (_, i) => msg(25 + i)));
        return { hole, closed: room.holeAbove(), jumped: room.jumped };
    }""")
    assert result == {"hole": 91, "closed": None, "jumped": False}


def test_mentions_are_counted_once_and_cleared_by_reading(page):
    result = page.evaluate("""() => {
        const room = new Room({ room: "r", name: "r", kind: "public", last_seq: 10, last_read_seq: 8, mentions: 1 },
                              "ana");
        const out = { listed: room.mentions };
        out.first = room.noteMention(12);
        out.again = room.noteMention(12);
        out.old = room.noteMention(7);
        out.counted = room.mentions;
        room.noteRead(12);
        out.read = room.mentions;
        return out;
    }""")
    assert result == {"listed": 1, "first": True, "again": False, "old": False, "counted": 2, "read": 0}


def test_a_big_hole_is_filled_a_thousand_messages_at_a_time_on_request(page):
    result = page.evaluate("""async () => {
        const actions = await setupActions();
        const room = synced(0, 0);
        room.insert(Array.from({ length: 50 }, (_, i) => msg(2951 + i)));
        room.insert(Array.from({ length: 50 }, (_, i) => msg(1 + i)));  // the page around seq 25
        room.jumped = true;
        const out = { small: null, hole: room.hole(), first: actions.holeToFill(room) };
        const button = room.rows.get(2951).querySelector(".log-gap button");
        out.label = button.textContent;
        button.click();
        out.loads = window.loads;
        out.afterClick = actions.holeToFill(room);
        actions.holePageLoaded(room, 1000);
        out.spent = actions.holeToFill(room);
        out.markers = room.list.querySelectorAll(".log-gap").length;
        room.insert(Array.from({ length: 2000 }, (_, i) => msg(951 + i)));  // now 900 missing: filled unasked
        out.small = actions.holeToFill(room);
        out.markersAfter = room.list.querySelectorAll(".log-gap").length;
        return out;
    }""")
    assert result == {"hole": {"top": 2951, "size": 2900}, "first": None, "label": "Load 1000 more messages",
                      "loads": 1, "afterClick": 2951, "spent": None, "markers": 1, "small": 951, "markersAfter": 0}
