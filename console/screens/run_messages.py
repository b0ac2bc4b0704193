"""Messages about the run the console follows, posted by the Live screen and forwarded by the app to screens of
other modes (the Graph screen lights its nodes from it)."""

from __future__ import annotations

from textual.message import Message


class FollowedRunChanged(Message):
    """The followed run moved on (new events, a new run, its end); `live` is its LiveRun, owned by the follower."""

    def __init__(self, live, config: object = None) -> None:
        super().__init__()
        self.live = live
        self.config = config  # the config of the screen that followed it: the app drops it after a context switch
