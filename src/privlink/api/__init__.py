"""HTTP API: the Aiven-compatible surface and privlink's native one."""
