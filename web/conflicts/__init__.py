"""The exchange's conflict queue: a partner's records not applied as sent, for a records
officer to settle."""
