"""`python -m bot` is the same as the `interview-bot` console script."""

from bot.service.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
