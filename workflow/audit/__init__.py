"""The audit trail (Decree 121/2017 Art. 4): every read, decision and change appended to a
SHA-256 hash chain sealed at each commit (`chain`), signed checkpoints of it (`checkpoints`),
and the trail as inspectors read it (`trail`)."""
