"""The GPU path of `pixseek index`, checked on the CPU: the PyTorch encoder gives the ONNX encoder's vectors,
the tensor crop and EXIF turns match the CPU decoders', the GPU reader leaves the catalog a CPU run
leaves, and --device cuda without a GPU is a clear error while auto falls back to the CPU."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTOS, TINY_VAL, requires_data, run_cli
from PIL import Image

from pixseek import Collection
from pixseek.encoders.device import cuda_missing, resolve_device
from pixseek.encoders.registry import load_image_encoder
from pixseek.encoders.visual import visual_vectors
from pixseek.errors import PixseekError
from pixseek.media.images import load_for_encoder

torch = pytest.importorskip("torch")
NO_CUDA = cuda_missing() is not None
PHOTO_NAMES = ("sklearn_china.jpg", "skimage_rocket.jpg", "skimage_chelsea.png", "skimage_coffee.png")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def encoders():
    from pixseek.encoders.torch_image import TorchImageEncoder

    return load_image_encoder("efficientnet-lite0"), TorchImageEncoder("efficientnet-lite0", device="cpu")


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    tiny = sorted(TINY_VAL.glob("*/*.JPEG"))[:4]
    return np.stack([load_for_encoder(p, 224)[0] for p in [*(PHOTOS / n for n in PHOTO_NAMES), *tiny]])


@requires_data
def test_torch_encoder_gives_the_onnx_vectors(encoders, pixels):
    onnx, torch_enc = encoders
    assert (torch_enc.name, torch_enc.dim, torch_enc.input_size, torch_enc.classes) == \
        (onnx.name, onnx.dim, onnx.input_size, onnx.classes)
    a, b = onnx.embed(pixels), torch_enc.embed(pixels)
    assert cosines(a.features, b.features).min() > 1 - 1e-3
    assert cosines(a.probs, b.probs).min() > 1 - 1e-3
    assert cosines(visual_vectors(a), visual_vectors(b)).min() > 1 - 1e-3
    assert (a.probs.argmax(1) == b.probs.argmax(1)).all()
    other = np.roll(visual_vectors(b), 1, axis=0)  # the check can fail: other photos are far apart
    assert cosines(visual_vectors(a), other).max() < 0.9


def test_upright_turns_as_pil_does():
    from pixseek.media.gpu_jpeg import upright

    a = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(4, 5, 3) * 4
    im = Image.fromarray(a)
    ops = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM, 5: Image.TRANSPOSE,
           6: Image.ROTATE_270, 7: Image.TRANSVERSE, 8: Image.ROTATE_90}
    chw = torch.from_numpy(a).permute(2, 0, 1)
    assert np.array_equal(upright(chw, 1).permute(1, 2, 0).numpy(), a)
    for orientation, op in ops.items():
        got = upright(chw, orientation).permute(1, 2, 0).numpy()
        assert np.array_equal(got, np.asarray(im.transpose(op))), orientation


@requires_data
def test_tensor_crop_matches_the_cpu_crop():
    from pixseek.media.gpu_jpeg import square_crop

    for path in [*(PHOTOS / n for n in PHOTO_NAMES), sorted(TINY_VAL.glob("*/*.JPEG"))[0]]:
        want = load_for_encoder(path, 224)[0]
        rgb = np.array(Image.open(path).convert("RGB"))
        got = square_crop(torch.from_numpy(rgb).permute(2, 0, 1), 224).numpy()
        assert got.shape == want.shape and got.dtype == np.uint8
        diff = np.abs(got.astype(int) - want)
        assert diff.max() <= 2 and diff.mean() < 0.3, path.name  # grey levels, of 255


def pil_decode(files, device, seen: list[int] | None = None):
    """Stands in for nvJPEG where there is no GPU: the file's raw pixels, not turned, None when refused."""
    out = []
    if seen is not None:
        seen.append(len(files))
    for data in files:
        try:
            rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            out.append(torch.from_numpy(rgb.copy()).permute(2, 0, 1).to(device))
        except OSError:
            out.append(None)
    return out


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory) -> Path:
    """JPEGs of two sizes, one turned by EXIF, a PNG, a truncated JPEG, a CMYK JPEG and a text file."""
    folder = tmp_path_factory.mktemp("mixed")
    for p in sorted(TINY_VAL.glob("*/*.JPEG"))[:3]:
        shutil.copy2(p, folder / p.name)
    for name in PHOTO_NAMES:
        shutil.copy2(PHOTOS / name, folder / name)
    china = Image.open(PHOTOS / "sklearn_china.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6
    china.save(folder / "turned.jpg", exif=exif.tobytes(), quality=90)
    china.convert("CMYK").save(folder / "cmyk.jpg")
    data = (PHOTOS / "skimage_rocket.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "notes.jpg").write_text("not a photo")
    return folder


@requires_data
def test_gpu_reader_leaves_the_catalog_a_cpu_run_leaves(mixed_folder, tmp_path, encoders):
    from pixseek.ingest import run
    from pixseek.ingest.gpu_reader import GpuJpegReader
    from pixseek.ingest.readers import ProcessReader

    onnx, torch_enc = encoders
    cpu = Collection.open(tmp_path / "cpu", encoder="efficientnet-lite0")  # the float model: the GPU twin's
    cpu.index([mixed_folder], progress=False, workers=0)
    gpu = Collection.open(tmp_path / "gpu", encoder="efficientnet-lite0")
    seen: list[int] = []
    reader = GpuJpegReader(ProcessReader(0), 224, "cpu", batch_size=4,
                           decode=lambda files, device: pil_decode(files, device, seen))
    counts, stores = run.index_run(gpu.layout, torch_enc, [mixed_folder], reader, 4, False)
    assert (counts.indexed, counts.failed) == (9, 2)  # the truncated JPEG and the text file fail on both paths
    assert sum(seen) == 6 and max(seen) <= 4  # the 6 whole RGB JPEGs (one turned) went the GPU way

    def catalog(col):
        rows = col.catalog.db.execute("SELECT f.path, f.status, f.hash, f.error, c.width, c.height FROM files f "
                                      "LEFT JOIN contents c ON c.id = f.content_id ORDER BY f.path").fetchall()
        return [tuple(r) for r in rows]

    assert catalog(gpu) == catalog(cpu)
    ids = {path: cid for path, cid in cpu.catalog.db.execute("SELECT path, content_id FROM files WHERE status='ok'")}
    gids = dict(gpu.catalog.db.execute("SELECT path, content_id FROM files WHERE status='ok'").fetchall())
    a = cpu.visual.get(np.array([ids[p] for p in sorted(ids)]))
    b = stores.visual.get(np.array([gids[p] for p in sorted(ids)]))
    sims = cosines(a, b)
    assert sims.min() > 0.995, dict(zip(sorted(ids), sims.round(4)))  # measured 0.9993: another crop code
    assert cosines(a, np.roll(b, 1, axis=0)).max() < 0.9


def test_auto_is_the_cpu_without_a_gpu_and_for_encoders_without_a_torch_twin():
    assert resolve_device("cpu", "efficientnet-lite0") == "cpu"
    assert resolve_device("auto", "onnx:/models/resnet.onnx") == "cpu"
    if NO_CUDA:
        assert resolve_device("auto", "efficientnet-lite0") == "cpu"
    with pytest.raises(PixseekError, match="efficientnet-lite encoders only"):
        resolve_device("cuda", "clip:/models/clip")
    with pytest.raises(PixseekError, match="unknown device 'gpu'"):
        resolve_device("gpu", "efficientnet-lite0")
    from pixseek.ingest.run import index_device

    assert index_device("auto", "efficientnet-lite0", ray="local") == "cpu"  # Ray workers embed on their CPUs
    with pytest.raises(PixseekError, match="--ray"):
        index_device("cuda", "efficientnet-lite0", ray="local")


@requires_data
@pytest.mark.skipif(not NO_CUDA, reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error_and_auto_indexes_on_the_cpu(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    for name in PHOTO_NAMES[:2]:
        shutil.copy2(PHOTOS / name, folder / name)
    proc = run_cli("index", str(folder), "--device", "cuda", "--no-progress", db=tmp_path / "db", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "--device cuda:" in proc.stderr and "--device cpu" in proc.stderr
    col = Collection.open(tmp_path / "db")
    assert col.index([folder], progress=False, workers=0, device="auto").indexed == 2
