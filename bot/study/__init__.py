"""Use cases: what one step of studying does (choose and send a question, ...),
between the handlers (Telegram) and storage."""
