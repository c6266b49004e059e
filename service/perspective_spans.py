"""Span scores for the Perspective API's ``spanAnnotations``: a comment's sentences, each
scored on its own, and no more than ``MAX_SPANS`` of them per attribute."""

from __future__ import annotations

from bisect import bisect_left

import regex

from model.scorer import Scorer, ScoreResult
from model.text import strip_invisible

# A sentence ends at terminal punctuation (and closing quotes) before a space, or at a line break.
_SENTENCE_BREAK = regex.compile(r"(?<=[.!?。！？…][\"'”’»)\]]*)\s+|\s*\n\s*")
# The most span scores per attribute. Each span is one more scoring call (about 0.15 ms plus its
# text), and 20 KB of one-character lines is 10,000 sentences: scored one by one, that held a
# worker for over a second and answered megabytes. 100 calls cost less than scoring the longest
# allowed text once (20 KB of prose takes about 20 ms), so spans at most double a request's work,
# while ordinary comments (a few thousand characters, tens of sentences) keep one span per
# sentence. Past the limit, neighbouring sentences are merged rather than the tail dropped, so
# every sentence is still inside a scored span and abuse cannot hide after 100 short lines.
MAX_SPANS = 100


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(begin, end)`` of each sentence of ``text``, in code points (Python's string indexes),
    whitespace trimmed; :func:`in_utf16_units` turns them into the offsets Perspective sends."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in [*_SENTENCE_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        begin = start + len(piece) - len(piece.lstrip())
        finish = end - (len(piece) - len(piece.rstrip()))
        if begin < finish and strip_invisible(text[begin:finish]).strip():
            spans.append((begin, finish))
        if match:
            start = match.end()
    return spans


def merged_spans(spans: list[tuple[int, int]], limit: int = MAX_SPANS) -> list[tuple[int, int]]:
    """``spans`` as they are if there are at most ``limit`` (2 or more), else neighbours merged.

    A merged span closes once its sentences hold ``ceil(total / (limit - 1))`` code points, so
    each but the last holds at least that and there are at most ``limit``; a sentence that long
    keeps a span of its own, and it is the short ones that are merged.
    """
    if len(spans) <= limit:
        return spans
    total = sum(end - begin for begin, end in spans)
    least = -(-total // (limit - 1))
    merged: list[tuple[int, int]] = []
    start, held = spans[0][0], 0
    for index, (begin, end) in enumerate(spans):
        if held == 0:
            start = begin
        held += end - begin
        if held >= least or index == len(spans) - 1:
            merged.append((start, end))
            held = 0
    return merged


def span_results(
    scorer: Scorer, text: str, language: str, summary: ScoreResult
) -> list[tuple[int, int, ScoreResult]]:
    """Each sentence of the original text scored on its own (one sentence reuses the summary).

    Past :data:`MAX_SPANS` sentences, neighbours are scored together (see :func:`merged_spans`).
    """
    spans = merged_spans(sentence_spans(text))
    if len(spans) <= 1:
        return [(0, len(text), summary)] if not spans else [(*spans[0], summary)]
    return [
        (begin, end, scorer.score(strip_invisible(text[begin:end]), language))
        for begin, end in spans
    ]


def in_utf16_units(
    text: str, spans: list[tuple[int, int, ScoreResult]]
) -> list[tuple[int, int, ScoreResult]]:
    """``spans`` with their code-point offsets turned into UTF-16 code units.

    Perspective's span offsets are "the UTF-16 codepoint range", which is how JavaScript, Java
    and .NET index a string: a character outside the Basic Multilingual Plane (most emoji) is two
    units there and one code point in Python, so every offset after one moves up by one.
    """
    astral = [index for index, char in enumerate(text) if ord(char) > 0xFFFF]
    if not astral:
        return spans

    def units(offset: int) -> int:
        return offset + bisect_left(astral, offset)

    return [(units(begin), units(end), result) for begin, end, result in spans]
