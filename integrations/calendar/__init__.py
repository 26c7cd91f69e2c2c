"""Calendar backends: `local` (a vdir folder of .ics files) and `google` (Calendar API v3)."""
