"""The Inbox port: mail coming in to coachd (replies from the manager, and later from reps).

An adapter lists the messages received since a given instant as `InboundMessage`s (sender,
subject, the Message-IDs it answers, plain-text body, calendar parts); it never changes the
mailbox. A tick lists it once (`base.ReadOnce`), whenever an inbox is configured. Which
messages were handled is coachd's own memory (`SeenMessages`, by Message-ID in the state
store), so every message is processed once however often it is listed, whichever adapter
lists it, and a crash before it was recorded only repeats idempotent work.

Adapters: `maildir` (a Maildir folder, the default) and `imap` (IMAP over TLS, password or
XOAUTH2). `parse.parse_message` turns raw RFC 5322 bytes into an `InboundMessage`; anything
malformed is skipped with a warning naming it. Everything in a message is outside text.

Users: approve-by-reply (planner.replies, namespace "replies"), reps' iMIP replies
(imip.inbound, namespace "imip"). Planned: coaching records by email. Each reads the same
listing and keeps its own `SeenMessages` namespace.
"""
