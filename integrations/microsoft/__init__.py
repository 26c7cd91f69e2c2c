"""Microsoft 365 calendar and mail through Microsoft Graph v1.0, over `requests`.

Layers, each in its own module, mirroring `integrations.google`: `auth` (MSAL and the token
cache file), `client` (one HTTP session, headers, JSON errors), `retry` (the Google
backend's single backoff policy applied to Graph's status codes), `batch` (JSON `$batch`,
at most 20 parts), `timezones` (Windows zone names <-> IANA), `serializer` (Graph JSON <->
planner model), `sync` (the calendarView delta cache), `calendar` (the Calendar port) and
`mail` (the Mailer port, `sendMail`).
"""
