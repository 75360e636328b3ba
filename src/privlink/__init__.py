"""privlink: a self-hostable PrivateLink control plane."""

__version__ = "0.1.0"
