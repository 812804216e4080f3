"""Bank Markdown to Telegram HTML (pure: no Telegram or database imports)."""

from bot.rendering.answer import RenderError, render_answer, render_question
from bot.rendering.text import escape_html, utf16_len

__all__ = ["RenderError", "escape_html", "render_answer", "render_question", "utf16_len"]
