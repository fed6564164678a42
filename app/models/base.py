"""The application's tables share the engine's declarative base (one MetaData)."""

from workflows.persistence import NAMING_CONVENTION, Base, BigId, JSONData, UTCDateTime

__all__ = ["NAMING_CONVENTION", "Base", "BigId", "JSONData", "UTCDateTime"]
