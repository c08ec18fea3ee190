"""The fault suite: tests that attack the engine's guarantees (orphans, lines, terminals, bad input)."""
