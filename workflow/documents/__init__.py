"""Documents the system issues (Decree 121/2017 Arts. 12 and 18): extracts and letters, what a
decision granted, the gapless outgoing register, rendering to PDF laid out per Decree 30/2020
(`rendering`, `contents`, `wording`, `templates/`), signing keys and certificates (`pki`), and the
verification codes printed on each document and read back however they were typed (`codes`)."""
