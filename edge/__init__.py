"""empathy-edge: real-time speech sentiment for healthcare contact centres."""

__version__ = "0.1.0"
