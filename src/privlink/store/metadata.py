"""All tables in one MetaData, for migrations and the drift test."""

from privlink.store import cloud_tables, generations, tables
from privlink.store.base import Base

METADATA = Base.metadata
__all__ = ["METADATA", "cloud_tables", "generations", "tables"]
