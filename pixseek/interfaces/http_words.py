"""What the HTTP API takes as filters, and how it says what is wrong, in the words of the person using the
page: no CLI flag, no pattern, no validator wording reaches them, and each message says how to fix it.

`Narrow` is the filters' dependency (search, similar, browse), built from the filter spec every interface
shares; a relative folder is taken below the collection's own folder (not the server's working folder). `plain_message` turns
a request validation error into sentences.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from pixseek.errors import PixseekError
from pixseek.search.filter_options import FILTER_OPTIONS

# what each parameter is, to the person filling in the page
LABELS = {"q": "The search", "k": "The number of results", "offset": "The position to start from",
          "threshold": "The similarity", "min_score": "The lowest score (min_score)", "upload_id": "The uploaded image",
          "file": "The image file", "word": "The word", "path": "The photo", "box": "The region",
          "under": "The folder", "after": "The 'taken after' date", "before": "The 'taken before' date",
          "type": "The file type", "place": "The place", "near": "The 'near' position", "name": "The name",
          "paths": "The photos", "not_paths": "The photos", "bridge": "The search method", "exact": "'exact'",
          "like": "The photos marked", "unlike": "The photos marked"}


def _bound(ctx: dict) -> str:
    if "le" in ctx:
        return f"at most {ctx['le']}"
    if "lt" in ctx:
        return f"below {ctx['lt']}"
    if "ge" in ctx:
        return f"at least {ctx['ge']}"
    return f"above {ctx.get('gt')}"


def _sentence(error: dict) -> str:
    loc = [str(p) for p in error.get("loc", ())[1:] if not isinstance(p, int)]
    name = loc[-1] if loc else ""
    label = LABELS.get(name, f"The value '{name}'" if name else "The request")
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing" and name == "file":
        return "No image came with the request: choose an image file."
    if kind == "missing":
        return f"{label} is missing: add it and try again."
    if kind == "string_too_long":
        return f"{label} is too long: at most {ctx.get('max_length')} characters. Shorten it and try again."
    if kind == "too_long":
        return f"{label}: too many, at most {ctx.get('max_length')}. Choose fewer."
    if kind in ("string_too_short", "too_short"):
        return f"{label} is empty: fill it in and try again."
    if kind in ("less_than_equal", "less_than", "greater_than_equal", "greater_than"):
        return f"{label} must be {_bound(ctx)}: change it and try again."
    if kind == "string_pattern_mismatch" and name == "upload_id":
        return "That uploaded image is not known here: upload the image again."
    if kind in ("int_parsing", "int_from_float"):
        return f"{label} must be a whole number, e.g. 10."
    if kind in ("float_parsing", "finite_number"):
        return f"{label} must be a number, e.g. 0.5."
    if kind == "bool_parsing":
        return f"{label} must be yes or no (1 or 0)."
    return f"{label} is not something pixseek understands: check it and try again."


def plain_message(exc: RequestValidationError) -> str:
    """Every problem with a request, one sentence each (the same problem once)."""
    return " ".join(dict.fromkeys(_sentence(e) for e in exc.errors())) or "The request is not complete: try again."


def _folder(request: Request, under: str | None) -> str | None:
    """An absolute folder as given; a relative one is below the collection's folder (where its photos are)."""
    if not under or not under.strip():
        return None
    under = os.path.expanduser(under.strip())
    svc = request.app.state.service
    root = svc.run(lambda c: c.root())
    if root is None:
        raise PixseekError("The collection holds no photos yet, so there is no folder to look in: index some photos first.")
    folder = os.path.normpath(under if os.path.isabs(under) else os.path.join(root, under))
    if not svc.run(lambda c: c.catalog.has_files_under(folder)):
        raise PixseekError(f"There are no indexed photos under {folder}: choose one of the collection's folders "
                           f"(its photos are in {root}) or clear the folder filter.")
    return folder


def _narrowing_dependency() -> Callable[..., dict]:
    """min_score and the filters search, similar and browse take, as query parameters built from the one spec
    every interface shares (search/filter_options.py FILTER_OPTIONS: a new filter needs no change here); a
    relative folder is taken below the collection's own folder. Values are checked by parse_filters."""
    def narrowing(request: Request, **values) -> dict:
        return {**values, "under": _folder(request, values.get("under"))}

    score = inspect.Parameter("min_score", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        float | None, Query(description="leave out results scoring below this; absent or 0: none left out, the "
                                        "weaker ones flagged")])
    narrowing.__signature__ = inspect.Signature(
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request), score] + [
            inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                              annotation=Annotated[str | None, Query(max_length=o.max_length, description=o.help)])
            for o in FILTER_OPTIONS])
    return narrowing


Narrow = Annotated[dict, Depends(_narrowing_dependency())]


@contextmanager
def nothing_to_search(unknown_word: bool = False) -> Iterator[list[str]]:
    """Words that leave nothing to search for (unknown ones, stopwords; with `unknown_word`, a word without
    a vector) are an answer, not an error: the message, in plain words, lands in the yielded list."""
    said: list[str] = []
    try:
        yield said
    except PixseekError as e:
        text = str(e)
        if text.endswith(": nothing left to search for"):
            said.append(text.replace("ignored unknown word", "pixseek does not know the word")
                        .replace(": nothing left to search for", ", so there is nothing left to search for: try other words."))
        elif text.startswith("nothing to search for in "):
            said.append(text[0].upper() + text[1:] + ".")
        elif unknown_word and (text.startswith("unknown word ") or text.startswith("give a word")):
            said.append(text)
        else:
            raise
