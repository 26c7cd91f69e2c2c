"""The default transport: a real Maildir (tmp/new/cur) that mutt or any Maildir reader opens."""

from __future__ import annotations

import logging
import mailbox
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path

from integrations.errors import TransientError, UserError

log = logging.getLogger(__name__)


class MaildirMailer:
    """Adds each message to a Maildir once: a Message-ID already there is not added again.

    The Maildir's Message-IDs are read once (headers only) and cached, so a resend after a
    crash between delivery and the state record is recognised and skipped.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: set[str] | None = None

    def _box(self) -> mailbox.Maildir:
        try:
            return mailbox.Maildir(self.path, factory=None, create=True)
        except OSError as e:
            raise UserError(f"cannot create the Maildir {self.path}: {e}") from None

    def _known_ids(self, box: mailbox.Maildir) -> set[str]:
        if self._ids is None:
            ids: set[str] = set()
            parser = BytesHeaderParser(policy=default)
            for key in box.iterkeys():
                try:
                    with box.get_file(key) as fh:
                        mid = parser.parse(fh).get("Message-ID")  # type: ignore[arg-type]
                except (OSError, KeyError) as e:
                    # A message moved or deleted by a reader meanwhile: nothing to compare.
                    log.debug("maildir %s: skipping %s: %s", self.path, key, e)
                    continue
                if mid:
                    ids.add(str(mid).strip())
            self._ids = ids
        return self._ids

    def contains(self, message_id: str) -> bool:
        """Whether a message with this Message-ID is already in the Maildir."""
        return message_id.strip() in self._known_ids(self._box())

    def send(self, message: EmailMessage) -> None:
        """Deliver into new/ (written in tmp/ and renamed, so a reader never sees half)."""
        mid = str(message.get("Message-ID", "")).strip()
        box = self._box()
        known = self._known_ids(box)
        if mid and mid in known:
            log.info("maildir %s: %s is already there, not adding it again", self.path, mid)
            return
        try:
            box.add(message)
        except OSError as e:
            raise TransientError(f"cannot write to the Maildir {self.path}: {e}") from None
        if mid:
            known.add(mid)
        log.info("maildir %s: delivered %s", self.path, mid or "(no Message-ID)")
