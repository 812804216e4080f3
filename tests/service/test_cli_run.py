"""`interview-bot run` refuses to start clearly: no token, or a broken bank."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOKEN = "123456:TEST-token-for-the-cli-test"


def run_bot(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "CONTENT_DIR", "DATABASE_URL"}
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_token_prints_how_to_get_one(tmp_path: Path) -> None:
    result = run_bot(tmp_path)
    assert result.returncode == 2
    assert "@BotFather" in result.stderr
    assert ".env" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_broken_bank_stops_start_up_with_positions(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "broken.yaml").write_text("deck:\n  id: x\nquestions: [\n", encoding="utf-8")
    result = run_bot(tmp_path, BOT_TOKEN=TOKEN, CONTENT_DIR=str(bank))
    assert result.returncode == 1
    assert "broken.yaml:4:1: YAML syntax error" in result.stderr
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr + result.stdout
