"""Deterministic demo data for `make run` and the tests: the organisation tree, one account per
role, and persons with their episodes, cases and requests. Not part of the domain: nothing in
`workflow` imports it."""
