"""Keeping the database safe to run (Decree 121/2017 Art. 11): consistent backups with a
manifest, and their restore."""
