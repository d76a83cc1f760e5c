"""The paper's judge prompts (Appendix C.4) and the parser for the judge's reply.

Both templates are the paper's text word for word. The PDF-to-text extraction of the paper
flattened some line breaks (the standard variant's answer format is printed on one line, the
two-word variant's on three) and left a stray ``\\`` where the sentence "explaining which you
prefer and why" wraps; we restore the line layout that the two-word variant kept, for both, and
drop the wrap marker. Placeholders keep the paper's spelling: ``{{post}}``, ``{{summarya}}``,
``{{summaryb}}``.

The parser takes the *last* ``Preferred: A`` / ``Preferred: B`` line of a reply (tolerating
quotes, asterisks, whitespace and case). Anything else is invalid (``None``): never a coin flip,
never silently a win or a loss.
"""

from __future__ import annotations

import re

_INSTRUCTIONS = (
    "### Instructions:\n"
    "FIRST provide a one-sentence comparison of the two summaries, explaining which you prefer "
    'and why. SECOND, on a new line, state only "A" or "B" to indicate your choice. Your '
    "response should use the format:\n"
    "Comparison: <one-sentence comparison and explanation>\n"
    'Preferred: <"A" or "B">'
)

_BODY = (
    "### Post:\n{{post}}\n\n"
    "### Summary A:\n{{summarya}}\n\n"
    "### Summary B:\n{{summaryb}}\n\n" + _INSTRUCTIONS
)

STANDARD_TEMPLATE = (
    "Which of the following summaries does a better job of summarizing the most important points "
    "in the given forum post, without including unimportant or irrelevant details? Judge based on "
    "accuracy, coverage, and coherence.\n\n" + _BODY
)
"""Appendix C.4, standard TL;DR summarization (600 test prompts in the paper)."""

TWO_WORD_TEMPLATE = (
    "Which of the following two-word summaries does a better job of summarizing the most "
    "important points in the given forum post, without including unimportant or irrelevant "
    "details? Judge based on accuracy, coverage, and coherence.\n\n" + _BODY
)
"""Appendix C.4, two-word summarization (Fig. 5; 6000 test prompts in the paper)."""

TEMPLATES: dict[str, str] = {"standard": STANDARD_TEMPLATE, "two_word": TWO_WORD_TEMPLATE}

_PLACEHOLDER = re.compile(r"\{\{(post|summarya|summaryb)\}\}")


def get_template(name: str) -> str:
    """The template text called ``name`` (``standard`` or ``two_word``)."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(
            f"config key judge.openai.template: unknown template {name!r} (known: {sorted(TEMPLATES)})"
        ) from None


def render(template: str, post: str, summary_a: str, summary_b: str) -> str:
    """Fill the placeholders in one pass, so text inside a post can never be re-substituted."""
    values = {"post": post, "summarya": summary_a, "summaryb": summary_b}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


# "Preferred" [markup] ":" [quotes/markup] ["Summary "] A|B [closing quotes/markup] [. or !] EOL
_OPEN = r"""[\s*_"'`“”‘’\[(]*"""
_CLOSE = r"""[*_"'`“”‘’\])]*"""
_PREFERRED = re.compile(
    rf"preferred[\s*_]*:{_OPEN}(?:summary\s+)?([ab]){_CLOSE}[.!]?{_CLOSE}[ \t\r]*$",
    re.IGNORECASE | re.MULTILINE,
)


def parse_preference(reply: str | None) -> str | None:
    """Return ``"A"`` or ``"B"`` from the last ``Preferred:`` line of ``reply``, else ``None``.

    The letter must end its line (after optional closing quotes, asterisks and a full stop), so
    the literal echo ``Preferred: <"A" or "B">`` and prose such as ``Preferred: a summary that...``
    are invalid rather than misread.
    """
    if not reply:
        return None
    matches = list(_PREFERRED.finditer(reply))
    if not matches:
        return None
    return matches[-1].group(1).upper()
