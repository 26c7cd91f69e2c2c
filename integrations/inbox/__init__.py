"""The Inbox port: mail coming in to coachd (replies from the manager, and later from reps).

An adapter lists the messages received since a given instant as `InboundMessage`s (sender,
subject, the Message-IDs it answers, plain-text body); it never changes the mailbox. Which
messages were handled is coachd's own memory (`SeenMessages`, by Message-ID in the state
store), so every message is processed once however often it is listed, whichever adapter
lists it, and a crash before it was recorded only repeats idempotent work.

Adapters: `maildir` (a Maildir folder, the default) and `imap` (IMAP over TLS, password or
XOAUTH2). `parse.parse_message` turns raw RFC 5322 bytes into an `InboundMessage`; anything
malformed is skipped with a warning naming it. Everything in a message is outside text.

Users: approve-by-reply (planner.replies). Planned: iMIP replies from reps, coaching records
by email: each reads the same port and keeps its own `SeenMessages` namespace.
"""
