"""Switching a collection to another image encoder from the Python API (`pixseek reindex --encoder` too).

`EncoderSwitch` is the part of Collection that does it (kept here so the facade stays small): every photo
is embedded again by ingest/switch_encoder.py, then the image index and the derived vectors are built
again from the new rows.
"""

from __future__ import annotations

from pixseek.encoders.registry import canonical_spec, load_image_encoder


class EncoderSwitch:
    def switch_encoder(self, spec: str, progress: bool | None = None, workers: int | None = None) -> dict:
        """Re-embed every photo with `spec` and make it this collection's encoder; resumable (run it
        again after an interruption). Returns the encoder, the previous one and how many photos were
        embedded, or kept their old vector because their file is gone or changed."""
        from pixseek.ingest import run
        from pixseek.ingest.switch_encoder import switch_encoder

        spec = canonical_spec(spec)
        report = switch_encoder(self.layout, spec, load_image_encoder, progress=progress, workers=workers)
        self.layout.use_encoder(spec, load_image_encoder)
        self._encoder = None
        if report["switched"]:
            run.reindex(self.layout, self.derive)
        self.refresh()
        return report
