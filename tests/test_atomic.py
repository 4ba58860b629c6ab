"""atomic_path / atomic_write: the final file is the old one or the whole new one, and no temp file stays."""

from __future__ import annotations

import numpy as np
import pytest

from pixseek.atomic import atomic_path, atomic_write


def test_success_replaces_and_failure_keeps_the_old_file(tmp_path):
    final = tmp_path / "f.bin"
    atomic_write(final, b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert final.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    atomic_write(final, "new\n")
    assert final.read_text() == "new\n" and len(list(tmp_path.iterdir())) == 1


def test_numpy_writers_keep_the_temp_name(tmp_path):
    """np.save and np.savez append .npy / .npz to a name lacking it: the suffix makes the name theirs."""
    with atomic_path(tmp_path / "v.npy", suffix=".npy") as tmp:
        np.save(tmp, np.arange(3))
    with atomic_path(tmp_path / "z.npz", suffix=".npz") as tmp:
        np.savez(tmp, a=np.arange(2))
    assert np.load(tmp_path / "v.npy").tolist() == [0, 1, 2]
    with np.load(tmp_path / "z.npz") as z:
        assert z["a"].tolist() == [0, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.npy", "z.npz"]


def test_two_writers_get_their_own_temp_files(tmp_path):
    final = tmp_path / "cache"
    with atomic_path(final) as a, atomic_path(final) as b:
        assert a != b and a.parent == b.parent == tmp_path
        a.write_bytes(b"a")
        b.write_bytes(b"b")
    assert final.read_bytes() == b"a" and len(list(tmp_path.iterdir())) == 1
