"""Exchange: packages, trust, feeds, and their API and commands."""
