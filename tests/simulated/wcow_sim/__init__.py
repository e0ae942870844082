"""The simulated Windows host: a test double for the host scripts we ship (tests only)."""
