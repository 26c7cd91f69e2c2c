"""Maildir inbox: the messages in `new/` and `cur/` of a Maildir folder, left untouched.

A folder that does not exist yet means no mail yet (not an error). Files are read in name
order; one that cannot be read or parsed is skipped with a warning naming it. `since` is
compared with each file's modification time (when it was delivered), a day early so a
clock skew never hides a reply.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from integrations.inbox.base import InboxRead
from integrations.inbox.parse import MAX_BYTES, parse_message

log = logging.getLogger(__name__)


class MaildirInbox:
    """Reads a Maildir (the folder holding `cur`, `new` and `tmp`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"MaildirInbox({str(self.path)!r})"

    def read(self, since: datetime) -> InboxRead:
        out = InboxRead()
        cutoff = (since - timedelta(days=1)).timestamp()
        for sub in ("new", "cur"):
            folder = self.path / sub
            try:
                names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
            except FileNotFoundError:
                continue
            except OSError as e:
                out.warnings.append(f"inbox {folder}: cannot be listed: {e.strerror or e}")
                continue
            for name in names:
                path = folder / name
                try:
                    st = path.stat()
                    if st.st_mtime < cutoff:
                        continue
                    if st.st_size > MAX_BYTES:
                        raise ValueError(f"larger than {MAX_BYTES} bytes")
                    out.messages.append(parse_message(path.read_bytes()))
                except FileNotFoundError:
                    continue  # moved by a mail client while we listed: seen next time
                except (OSError, ValueError) as e:
                    out.warnings.append(f"inbox {path}: skipped: {e}")
        return out
