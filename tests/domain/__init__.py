"""Unit tests of the pure domain core (no Telegram, no database)."""
