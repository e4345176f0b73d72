"""Requesters outside the state: their registration by a clerk, whom they act for, and a
lawyer's view of who read the client's record."""
