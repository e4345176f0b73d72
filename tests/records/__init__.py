"""Records: entry, corrections, cases, scope, search, bulk import."""
