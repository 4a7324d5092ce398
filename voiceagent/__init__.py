"""Clinic Voice Agent: an on-premises AI phone agent for medical front offices."""

__version__ = "0.1.0"
