"""Webhooks: requesting bodies' own systems told of their requests' state changes."""
