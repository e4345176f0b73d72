"""Who the users are and how they prove it (Decree 121/2017 Art. 18, Art. 4 on protecting the
data): accounts and their roles, password hashing, two-factor sign-in, server-side sessions, API
tokens of system accounts, role permissions, the database role the application runs as, and the
detainee kiosk (Art. 12 §2(c)): a facility's registered devices, PINs and kiosk sessions."""
