"""Domain of the custody records database: models, policies and services (no Flask here)."""
