"""Writing an exported ONNX file: into a temp file beside it, stamped with pixseek metadata, then renamed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pixseek.atomic import atomic_path


@contextmanager
def onnx_output(out: Path, metadata: dict[str, str]) -> Iterator[str]:
    """Yields a temp path to export to; on success stamps `metadata` into it and renames it to `out`
    (atomic: a crash mid-export never leaves a half file behind); on failure removes it."""
    import onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, suffix=".onnx") as tmp:
        yield str(tmp)
        model = onnx.load(tmp)
        kept = [(p.key, p.value) for p in model.metadata_props if p.key not in metadata]  # a copy's own replaced
        del model.metadata_props[:]
        for key, value in [*kept, *metadata.items()]:
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, tmp)
        os.chmod(tmp, 0o644)
