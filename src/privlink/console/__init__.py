"""The web console: server-rendered pages over the same service layer as the API."""
