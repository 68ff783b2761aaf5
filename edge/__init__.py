"""station-edge: the station daemon's domain, store, services and command line."""

__version__ = "0.1.0"
