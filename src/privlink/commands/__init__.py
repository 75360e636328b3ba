"""CLI command groups that talk to the API over HTTP (light imports only)."""
