"""The embedded local cloud: control side in the database, data plane on this host."""
