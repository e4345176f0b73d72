"""Mail about requests: the outbox written with each notification, preferences, and sending."""
