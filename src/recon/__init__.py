"""Recon: reasoning like an economist."""

__version__ = "0.1.0"
