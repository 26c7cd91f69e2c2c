"""The outside world: calendars, mail transports, KPI sources, the state store, auth."""
