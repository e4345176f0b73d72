"""Who the users are and how they prove it (Decree 121/2017 Art. 18, Art. 4 on protecting the
data): accounts and their roles, password hashing, two-factor sign-in, server-side sessions, API
tokens of system accounts, role permissions, and the database role the application runs as."""
