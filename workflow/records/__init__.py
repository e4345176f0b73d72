"""The records the database keeps (Decree 121/2017 Arts. 9–10): persons, identifiers, custody and
detention episodes, events, cases, record documents, corrections with their versions (never a
silent change, Art. 4), person search, and bulk import from a facility's file (with the template
to fill in, `import_template`)."""
