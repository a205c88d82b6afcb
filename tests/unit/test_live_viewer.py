"""A board viewer too slow to keep up never makes the server's memory grow: its queue holds at most its
backlog of messages; past that it drops what it holds and waits for the whole board instead (REFRESH),
so it ends up showing the current state, not a gap."""

from __future__ import annotations

from live.renderer import REFRESH, Viewer


def drained(viewer: Viewer) -> list[bytes]:
    messages = []
    while not viewer.queue.empty():
        messages.append(viewer.queue.get_nowait())
    return messages


def test_a_viewer_keeping_up_gets_every_message_in_order() -> None:
    viewer = Viewer("SL2023", "en", backlog=3)
    for n in range(3):
        viewer.offer(f"change {n}".encode())
    assert drained(viewer) == [b"change 0", b"change 1", b"change 2"]


def test_a_slow_viewer_holds_at_most_its_backlog_and_then_gets_the_whole_board() -> None:
    viewer = Viewer("SL2023", "en", backlog=3)
    most = 0
    for n in range(1000):
        viewer.offer(f"change {n}".encode())
        most = max(most, viewer.queue.qsize())
    assert most <= 3
    messages = drained(viewer)
    assert messages.count(REFRESH) == 1 and messages[0] == REFRESH
    # the whole board is rendered when it is sent, so it already holds the dropped changes; after it
    # come only the latest changes, in order, up to the last one
    after = messages[1:]
    assert after == [f"change {n}".encode() for n in range(1000 - len(after), 1000)]


def test_the_refresh_is_not_repeated_while_the_viewer_catches_up() -> None:
    viewer = Viewer("SL2023", "en", backlog=2)
    for n in range(3):
        viewer.offer(f"change {n}".encode())
    assert drained(viewer) == [REFRESH]
    viewer.offer(b"change 3")
    assert drained(viewer) == [b"change 3"]
