"""Stand-ins for outside services that run as real servers on loopback (no monkeypatching)."""
