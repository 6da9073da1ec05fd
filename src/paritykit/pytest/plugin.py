"""The pytest11 entry point of paritykit (being written)."""
