"""Google Calendar and Gmail through google-api-python-client.

Layers, each in its own module: `auth` (credentials and the token file), `client` (building
the service objects), `retry` (backoff and error classification), `serializer` (Google JSON
<-> planner model), `sync` (the incremental-sync cache), `calendar` (the Calendar port) and
`gmail` (the Mailer port).
"""
