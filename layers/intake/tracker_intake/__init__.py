"""Tracker intake: GitHub issues in, exactly one worker session per issue out."""

__version__ = "0.1.0"
