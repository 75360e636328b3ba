"""`python -m privlink` runs the CLI."""

from privlink.cli import main

main()
