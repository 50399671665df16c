"""cmimh: Cross-Modal Info-Max Hashing."""

__version__ = "0.1.0"
