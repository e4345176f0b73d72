"""Access requests (Decree 121/2017 Art. 12): filing, the route of approvals and consents, the
decisions on it, release, deadlines in working days, the dashboard lists and the inbox.

`machine` is the state table, `policy` the gates every surface asks, `routing` the Art. 12 §3
rules that decide who must approve and consent, `rules` the effective-dated rule sets,
`workdays` the working-day calendar the deadlines count in (the one place working days are
reckoned), `clock` a deadline's terms, pauses and extensions, and `calendar` the government's
changes of that calendar."""
