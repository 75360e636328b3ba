"""Level-based reconcilers: read desired and actual state, make one idempotent move."""
