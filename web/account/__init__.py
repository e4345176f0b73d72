"""The user's own account: what it is, where its mail goes, and how."""
