"""Marks strings for translation without importing Flask; the web layer translates them."""


def N_(message: str) -> str:
    """Mark a message for extraction; returns it unchanged."""
    return message
