"""Use cases shared by the API, the console and the admin commands."""
