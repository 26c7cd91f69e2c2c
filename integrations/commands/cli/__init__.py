"""The command line's own pieces (argument groups, output formats), kept out of daemon.py."""
