"""The detainee kiosk: the clerk's device and PIN pages, and the person's own pages."""
