"""What the commands do beyond a tick: preview, status, explain, demo, first run,
the config alert, and the command line's output formats (cli/)."""
