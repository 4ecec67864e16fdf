"""Command-line interface: ``varda <command>``; each command lives in its own module."""
