"""Accounts, sign-in, two factors, sessions, tokens, headers, database roles."""
