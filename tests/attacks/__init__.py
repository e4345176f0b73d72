"""The proofs against attackers: every route, operation and command × who must not
succeed, and the fuzzers."""
