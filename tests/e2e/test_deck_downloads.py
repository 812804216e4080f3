"""Taking a deck along end to end: /decks sends any deck, built-in or one's own or
added, as an Anki package (read back with our own Anki reader) and as YAML (loaded back
by the upload reader); a deck that is not yours, or gone, gets a clear answer."""

from __future__ import annotations

from bot.content.imports import parse_deck_upload
from bot.domain.content import Question
from bot.storage import decks as deck_store
from bot.telegram import callbacks as cb
from tests.e2e.test_own_decks import (
    ADA,
    BOB,
    CSV_V1,
    answered,
    command,
    start,
    stored_decks,
    upload,
)
from tests.support.bot_harness import RunningBot
from tests.support.fake_telegram import FakeTelegram, SentMessage


async def downloads(tg: FakeTelegram, user: int = ADA) -> SentMessage:
    listing = await command(tg, "/decks", "Your own decks", user)
    data = next(d for text, d in listing.buttons if text.startswith("⬇️ Take a deck"))
    assert data is not None
    before = len(tg.sent(user))
    await tg.press(user, user, listing.message_id, data)
    await tg.wait_for(lambda: len(tg.sent(user)) > before, what="the list of decks")
    return tg.sent(user)[-1]


async def fetch(tg: FakeTelegram, menu: SentMessage, label: str, user: int = ADA) -> SentMessage:
    data = next(d for text, d in menu.buttons if text == label)
    assert data is not None, menu.buttons
    before = len(tg.sent(user, "sendDocument"))
    await tg.press(user, user, menu.message_id, data)
    await tg.wait_for(lambda: len(tg.sent(user, "sendDocument")) > before, what=label)
    return tg.sent(user, "sendDocument")[-1]


async def test_own_and_built_in_decks_as_apkg_and_yaml(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    menu = await downloads(tg)
    assert "Take a deck with you" in (menu.plain_text or "")
    rows = [text for text, _ in menu.buttons]
    assert rows == [
        "Machine Learning · .apkg",
        "YAML",
        "NLP · .apkg",
        "YAML",
        "mine · .apkg",
        "YAML",
    ]

    # The Anki package, read back by our own Anki reader: the same questions and ids.
    sent = await fetch(tg, menu, "mine · .apkg")
    assert sent.file is not None
    assert sent.file.filename == "mine.apkg"
    back = parse_deck_upload("mine.apkg", sent.file.data)
    assert back.deck is not None, back.problems
    assert back.problems == ()
    assert [(q.id, q.question) for q in back.deck.questions] == [
        ("a", "What is overfitting?"),
        ("b", "What does ReLU compute?"),
        ("c", "What is a tensor?"),
    ]
    # The answer's "<b>" was content, and stays content.
    assert "<b>too</b>" in back.deck.questions[0].answer.replace("\\", "")

    # YAML in our format: loads back to exactly the same questions.
    sent = await fetch(tg, menu, "YAML")  # the first YAML button: Machine Learning
    assert sent.file is not None
    assert sent.file.filename == "machine-learning.yaml"
    ml = bot.services.bank.deck("ml")
    assert ml is not None
    back = parse_deck_upload("machine-learning.yaml", sent.file.data)
    assert back.deck is not None, back.problems
    assert back.deck.questions == ml.questions

    yaml_buttons = [d for text, d in menu.buttons if text == "YAML"]
    before = len(tg.sent(ADA, "sendDocument"))
    assert yaml_buttons[2] is not None
    await tg.press(ADA, ADA, menu.message_id, yaml_buttons[2])
    await tg.wait_for(lambda: len(tg.sent(ADA, "sendDocument")) > before, what="mine.yaml")
    sent = tg.sent(ADA, "sendDocument")[-1]
    assert sent.file is not None
    back = parse_deck_upload("mine.yaml", sent.file.data)
    assert back.deck is not None, back.problems
    original = parse_deck_upload("mine.csv", CSV_V1)
    assert original.deck is not None
    assert back.deck.questions == original.deck.questions
    assert back.deck.title == "mine"

    # A built-in deck as a package too.
    sent = await fetch(tg, menu, "NLP · .apkg")
    assert sent.file is not None
    nlp = bot.services.bank.deck("nlp")
    assert nlp is not None
    back = parse_deck_upload("nlp.apkg", sent.file.data)
    assert back.deck is not None, back.problems[:3]
    assert [q.id for q in back.deck.questions] == [q.id for q in nlp.questions]


async def test_someone_elses_or_a_gone_deck_is_refused(tg: FakeTelegram, bot: RunningBot) -> None:
    await start(tg)
    await start(tg, BOB, "Bob")
    await upload(tg, CSV_V1, "mine.csv", "Imported")
    [deck] = await stored_decks(bot.services.sessions)
    menu = await downloads(tg, BOB)
    assert "mine · .apkg" not in [text for text, _ in menu.buttons]
    before = len(tg.sent(BOB, "sendDocument"))
    for action in (
        cb.DownloadDeck("yaml", f"u{deck.id}"),
        cb.DownloadDeck("apkg", "no-such-deck"),
    ):
        toast = await answered(tg, await tg.press(BOB, BOB, menu.message_id, cb.encode(action)))
        assert toast == "That deck is gone, or not yours."
    assert len(tg.sent(BOB, "sendDocument")) == before


async def test_fifty_decks_fit_telegrams_limit_on_buttons(
    tg: FakeTelegram, bot: RunningBot
) -> None:
    """The fake refuses more than 100 buttons, as Telegram does: /decks with 50 decks
    gives each one button that opens its own three."""
    await start(tg)
    question = Question(id="a", question="Q?", answer="A.")
    async with bot.services.sessions() as session, session.begin():
        for number in range(50):
            await deck_store.create_deck(
                ADA, f"D{number}", [question], session=session, now=bot.clock()
            )
    listing = await command(tg, "/decks", "D49")
    labels = [text for text, _ in listing.buttons]
    assert labels[0] == "⚙️ D0"
    assert len(labels) == 51
    data = listing.buttons[49][1]
    assert data is not None
    before = len(tg.sent(ADA))
    await tg.press(ADA, ADA, listing.message_id, data)
    await tg.wait_for(lambda: len(tg.sent(ADA)) > before, what="D49's buttons")
    assert [text for text, _ in tg.sent(ADA)[-1].buttons] == ["Replace D49", "Share", "Delete"]
    menu = await downloads(tg)
    assert len(menu.buttons) == 100
    assert "The first 50 of your 52 decks." in (menu.plain_text or "")
