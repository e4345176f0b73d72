"""Figures computed from the records, never typed in twice (Decree 121/2017 Art. 9 §1): statistics
on detained persons, figures on access requests, a body's dashboard, the kept snapshots of
expensive figures, and the reports facilities file with the body above them (Art. 10 §3)."""
