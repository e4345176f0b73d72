"""Access requests: the machine, routing, decisions, deadlines, gates, pages."""
