"""Helper process for the state store's crash tests (run by test_state.py, not collected).

    state_writer.py hold STATE    open the store (taking the lock), print "ready", sleep
    state_writer.py write STATE   open the store and write forever; print each counter value
                                  once the call that stored it has returned

Each `write` step stores, in one batch, `counter = i` and the booking `slot<i % SLOTS>`
with generation i, then (a separate write) `last = i`. A consistent file therefore has the
booking for `counter % SLOTS` at generation `counter`, every other slot within the last
SLOTS steps, and `last` equal to `counter` or `counter - 1`.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from integrations.store import state_buffer
from integrations.store.state import StateStore
from planner.model import BookingRecord

SLOTS = 7
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a fixed time: the content is what matters


def booking(i: int) -> BookingRecord:
    start = NOW + timedelta(minutes=i)
    return BookingRecord(
        key=f"slot{i % SLOTS}",
        event_id=f"ev{i}",
        generation=i,
        status="booked",
        kind="one_on_one",
        rep="rep@example.com",
        start=start,
        end=start + timedelta(minutes=30),
    )


def main(mode: str, path: Path) -> None:
    # Fold the journal into the file every few steps, so kills land in both kinds of write.
    state_buffer.JOURNAL_MIN_BYTES = 1024
    with StateStore.open(path, now=NOW) as store:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        if mode == "hold":
            time.sleep(60)
            return
        i = int(store.get("counter", -1))
        if store.get("last", -1) != i:
            store.put("last", i)  # finish the step a kill interrupted, as a real caller would
        while True:
            i += 1
            with store.batch():
                store.put("counter", i)
                store.put_booking(booking(i))
            store.put("last", i)
            sys.stdout.write(f"{i}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
