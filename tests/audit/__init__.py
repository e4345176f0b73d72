"""The audit chain, its seals and checkpoints."""
