"""Shared by the routes that answer with hits: one page of them (with the count headers) and a region."""

from __future__ import annotations

from fastapi.responses import Response

from pixseek.encoders.images import Box, parse_box


def box_of(text: str | None) -> Box | None:
    return parse_box(text) if text else None


def page_of(hits: list, offset: int, k: int, response: Response | None = None) -> list[dict]:
    """One page of hits; with `response`, X-Result-Count is set when the count is known (fewer hits came
    back than were asked for, so the list ended at a min_score or the collection's end), and
    X-Confident-Count to the confident hits among the first offset + k (the rest are flagged `weak`)."""
    if response is not None:
        response.headers["X-Confident-Count"] = str(sum(not h.weak for h in hits))
    if response is not None and len(hits) < offset + k:
        response.headers["X-Result-Count"] = str(len(hits))
    return [h.to_dict() for h in hits[offset:offset + k]]
