"""`coachd org worker` that stalls mid-tick, for the SIGKILL test: under a clock pinned at
argv[1], its mailer sends the first email of a tick, touches the file argv[2] and then hangs
(until the test kills it), so the kill lands after a real send and before the tick ends."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import time_machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

import integrations.org.tick as org_tick
from daemon import main

MARKER = Path(sys.argv[2])
_open_mailer = org_tick.open_mailer


class StallingMailer:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def send(self, message: EmailMessage) -> None:
        self.inner.send(message)
        MARKER.write_text(str(message["To"]))
        time.sleep(3600)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def stalling_mailer(loaded: Any) -> Any:
    return StallingMailer(_open_mailer(loaded))


if __name__ == "__main__":
    org_tick.open_mailer = stalling_mailer  # type: ignore[assignment]
    with time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True):
        sys.exit(main(sys.argv[3:]))
