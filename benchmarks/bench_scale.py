"""True-scale profile: randomly initialised models with the real widths of PaliGemma-3B-224
and Qwen2.5-VL-3B run through the suite stage by stage (load, encode, reduce, codec,
channel, decode, reconstruct, generate); time and peak memory per stage and per image.

What is real and what is not:

- widths, heads, MLP sizes, patch / merge sizes and the image token count are the real
  models' (PaliGemma-3B-224: SigLIP-So400m 1152-d x 27 layers on 224 px, 256 tokens,
  Gemma-2B 2048-d x 18 layers with MLP 16384; Qwen2.5-VL-3B: ViT 1280-d x 32 layers with
  2 x 2 merge on 448 x 448 -> 256 tokens, Qwen2.5 2048-d x 36 layers with MLP 11008);
- the layer counts are reducible (``--vision-layers``, ``--text-layers``; the defaults keep
  2 of each so a CPU run stays within minutes): times and memory of the layer stacks
  scale about linearly with them; the table says which counts ran;
- the vocabulary is the tiny test tokenizer's (about 200 tokens instead of 257,216 /
  151,936): the embedding and output head, 0.53 B (PaliGemma) / 0.31 B (Qwen) parameters
  of the real models, are left out; the table prints both parameter counts;
- weights are random (std 1.6 / sqrt(fan_in)), so captions are meaningless; the code path
  is the real one: a checkpoint saved with ``save_pretrained`` (fp32), loaded through the
  adapter with ``dtype``, batched ``generate`` with the suite's token injection.

Peak memory: CPU, the process's resident set size sampled every 5 ms during the stage,
minus the RSS before it (what the stage added at its peak); CUDA, the allocator's peak.
The load stage also runs in fresh subprocesses for fp32 and bf16, reporting the whole
load's peak RSS (``ru_maxrss``) above the imports: bf16 loading of the fp32 checkpoint
with ``from_pretrained(dtype=bfloat16)``.

    python benchmarks/bench_scale.py --family paligemma --vision-layers 2 --text-layers 2
    python benchmarks/bench_scale.py --family qwen2_5_vl --images 2 --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

REAL = {
    "paligemma": {
        "name": "PaliGemma-3B-224",
        "vision": {"hidden": 1152, "mlp": 4304, "layers": 27, "heads": 16},
        "text": {"hidden": 2048, "mlp": 16384, "layers": 18, "heads": 8, "kv": 1, "head": 256},
        "vocab": 257216,
    },
    "qwen2_5_vl": {
        "name": "Qwen2.5-VL-3B",
        "vision": {"hidden": 1280, "mlp": 3420, "layers": 32, "heads": 16},
        "text": {"hidden": 2048, "mlp": 11008, "layers": 36, "heads": 16, "kv": 2, "head": 128},
        "vocab": 151936,
    },
}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def _stage(results: dict, name: str, device: str, per: int = 1):
    """Time the block and record its peak memory above the start (RSS or CUDA)."""
    import torch

    cuda = device.startswith("cuda")
    peak = {"rss": _rss_bytes()}
    start_rss = peak["rss"]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            peak["rss"] = max(peak["rss"], _rss_bytes())

    thread = threading.Thread(target=sample, daemon=True)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start_cuda = torch.cuda.memory_allocated()
    thread.start()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        if cuda:
            torch.cuda.synchronize()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        stop.set()
        thread.join()
        peak["rss"] = max(peak["rss"], _rss_bytes())
        row = {
            "cpu_s": cpu,
            "cpu_s_per_image": cpu / per,
            "s": seconds,
            "s_per_image": seconds / per,
            "peak_rss_gib": (peak["rss"] - start_rss) / 2**30,
        }
        if cuda:
            row["peak_cuda_gib"] = (torch.cuda.max_memory_allocated() - start_cuda) / 2**30
        results[name] = row


def build(family: str, out: Path, vision_layers: int, text_layers: int) -> dict:
    """Save a random fp32 checkpoint of ``family`` at real widths to ``out``; returns the
    built and the real parameter counts."""
    import torch

    from collab_infer.models import tiny, tiny_recent

    torch.manual_seed(0)
    spec = REAL[family]
    v, t = spec["vision"], spec["text"]
    tokenizer_specials = ["<image>"] if family == "paligemma" else tiny_recent.QWEN_SPECIALS
    tokenizer = tiny.train_tiny_tokenizer(tokenizer_specials)
    vocab = len(tokenizer)
    ids = {s: tokenizer.convert_tokens_to_ids(s) for s in tokenizer_specials}
    if family == "paligemma":
        from transformers import (
            GemmaConfig,
            PaliGemmaConfig,
            PaliGemmaForConditionalGeneration,
            SiglipVisionConfig,
        )
        from transformers.models.siglip.image_processing_pil_siglip import (
            SiglipImageProcessorPil,
        )

        vision = SiglipVisionConfig(
            hidden_size=v["hidden"],
            intermediate_size=v["mlp"],
            num_hidden_layers=vision_layers,
            num_attention_heads=v["heads"],
            image_size=224,
            patch_size=14,
            vision_use_head=False,
        )
        text = GemmaConfig(
            vocab_size=vocab,
            hidden_size=t["hidden"],
            intermediate_size=t["mlp"],
            num_hidden_layers=text_layers,
            num_attention_heads=t["heads"],
            num_key_value_heads=t["kv"],
            head_dim=t["head"],
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=tokenizer.bos_token_id,
        )
        config = PaliGemmaConfig(
            vision_config=vision,
            text_config=text,
            image_token_index=ids["<image>"],
            vocab_size=vocab,
            projection_dim=t["hidden"],
            hidden_size=t["hidden"],
        )
        tiny._save_random_model(PaliGemmaForConditionalGeneration, config, tokenizer, 0, out)
        SiglipImageProcessorPil(
            size={"height": 224, "width": 224}, image_seq_length=256
        ).save_pretrained(out)
        model_cls = PaliGemmaForConditionalGeneration
    else:
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
            Qwen2VLImageProcessorPil,
        )

        config = Qwen2_5_VLConfig(
            vision_config={
                "depth": vision_layers,
                "hidden_size": v["hidden"],
                "intermediate_size": v["mlp"],
                "num_heads": v["heads"],
                "out_hidden_size": t["hidden"],
                "patch_size": 14,
                "spatial_merge_size": 2,
                "temporal_patch_size": 2,
                "window_size": 112,
                "fullatt_block_indexes": [vision_layers - 1],
            },
            text_config={
                "vocab_size": vocab,
                "hidden_size": t["hidden"],
                "intermediate_size": t["mlp"],
                "num_hidden_layers": text_layers,
                "num_attention_heads": t["heads"],
                "num_key_value_heads": t["kv"],
                "rope_parameters": {
                    "rope_type": "default",
                    "rope_theta": 1e6,
                    "mrope_section": [16, 24, 24],
                },
                "pad_token_id": tokenizer.pad_token_id,
                "eos_token_id": tokenizer.eos_token_id,
                "bos_token_id": tokenizer.bos_token_id,
            },
            image_token_id=ids["<|image_pad|>"],
            video_token_id=ids["<|video_pad|>"],
            vision_start_token_id=ids["<|vision_start|>"],
            vision_end_token_id=ids["<|vision_end|>"],
        )
        tiny._save_random_model(Qwen2_5_VLForConditionalGeneration, config, tokenizer, 0, out)
        Qwen2VLImageProcessorPil(
            patch_size=14, merge_size=2, temporal_patch_size=2, max_pixels=448 * 448
        ).save_pretrained(out)
        model_cls = Qwen2_5_VLForConditionalGeneration
    del model_cls
    from safetensors import safe_open

    built = 0
    for f in out.glob("*.safetensors"):
        with safe_open(str(f), "pt") as st:
            for key in st.keys():  # noqa: SIM118 (safe_open has no __iter__)
                built += _numel(st, key)
    return {"built_params": built, "real_params": _real_params(family)}


def _numel(st, key: str) -> int:
    n = 1
    for d in st.get_slice(key).get_shape():
        n *= int(d)
    return n


def _real_params(family: str) -> int:
    """The real model's parameter count, from its config on the meta device (no memory)."""
    import torch

    spec = REAL[family]
    v, t = spec["vision"], spec["text"]
    with torch.device("meta"):
        if family == "paligemma":
            from transformers import (
                GemmaConfig,
                PaliGemmaConfig,
                PaliGemmaForConditionalGeneration,
                SiglipVisionConfig,
            )

            cfg = PaliGemmaConfig(
                vision_config=SiglipVisionConfig(
                    hidden_size=v["hidden"],
                    intermediate_size=v["mlp"],
                    num_hidden_layers=v["layers"],
                    num_attention_heads=v["heads"],
                    image_size=224,
                    patch_size=14,
                    vision_use_head=False,
                ),
                text_config=GemmaConfig(
                    vocab_size=spec["vocab"],
                    hidden_size=t["hidden"],
                    intermediate_size=t["mlp"],
                    num_hidden_layers=t["layers"],
                    num_attention_heads=t["heads"],
                    num_key_value_heads=t["kv"],
                    head_dim=t["head"],
                ),
                vocab_size=spec["vocab"],
                projection_dim=t["hidden"],
                hidden_size=t["hidden"],
            )
            model = PaliGemmaForConditionalGeneration(cfg)
        else:
            from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

            cfg = Qwen2_5_VLConfig(
                vision_config={
                    "depth": v["layers"],
                    "hidden_size": v["hidden"],
                    "intermediate_size": v["mlp"],
                    "num_heads": v["heads"],
                    "out_hidden_size": t["hidden"],
                },
                text_config={
                    "vocab_size": spec["vocab"],
                    "hidden_size": t["hidden"],
                    "intermediate_size": t["mlp"],
                    "num_hidden_layers": t["layers"],
                    "num_attention_heads": t["heads"],
                    "num_key_value_heads": t["kv"],
                    "rope_parameters": {"rope_type": "default", "mrope_section": [16, 24, 24]},
                },
                tie_word_embeddings=True,
            )
            model = Qwen2_5_VLForConditionalGeneration(cfg)
    return sum(p.numel() for p in model.parameters())


def load_peak(family: str, ckpt: Path, dtype: str, device: str) -> dict:
    """Load ``ckpt`` in a fresh subprocess. Returns the load time, and in GiB above the
    process's memory after its imports: the peak RSS (``ru_maxrss``: file-backed pages of
    the memory-mapped checkpoint included), the peak anonymous memory during the load
    (``RssAnon`` sampled every 5 ms: what must fit in RAM), the RSS once every weight page
    has been read, and the weights' own bytes."""
    code = (
        "import json, os, resource, threading, time, torch\n"
        "torch.set_num_threads(1)\n"
        "import transformers\n"
        "from collab_infer.models import load\n"
        "def status(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key + ':'):\n"
        "            return int(line.split()[1]) * 1024\n"
        "base, anon0 = status('VmRSS'), status('RssAnon')\n"
        "peak_anon, stop = [anon0], threading.Event()\n"
        "def sample():\n"
        "    while not stop.wait(0.005):\n"
        "        peak_anon[0] = max(peak_anon[0], status('RssAnon'))\n"
        "th = threading.Thread(target=sample, daemon=True)\n"
        "th.start()\n"
        "t0 = time.perf_counter()\n"
        f"vlm = load({f'{family}:{ckpt}'!r}, device={device!r}, dtype={dtype!r})\n"
        "s = time.perf_counter() - t0\n"
        "stop.set(); th.join()\n"
        "peak_anon[0] = max(peak_anon[0], status('RssAnon'))\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "params = list(vlm.model.parameters())\n"
        "for p in params:\n"
        "    p.detach().view(-1)[::512].sum()  # read every page\n"
        "g = 2**30\n"
        "print(json.dumps({'s': s, 'peak_gib': (peak - base) / g,\n"
        "    'peak_anon_gib': (peak_anon[0] - anon0) / g,\n"
        "    'resident_gib': (status('VmRSS') - base) / g,\n"
        "    'weights_gib': sum(p.numel() * p.element_size() for p in params) / g}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=3600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def profile(args: argparse.Namespace, ckpt: Path) -> dict:
    import numpy as np
    import torch
    from PIL import Image

    import channel
    import codec
    from collab_infer import reducers
    from collab_infer.models import load
    from collab_infer.reconstruct import reconstruct

    rng = np.random.default_rng(0)
    images = [
        Image.fromarray((rng.random((480, 640, 3)) * 255).astype(np.uint8))
        for _ in range(args.images)
    ]
    n = args.images
    stages: dict = {}
    options = {"image_size": 448} if args.family == "qwen2_5_vl" else {}
    with _stage(stages, "load", args.device):
        vlm = load(f"{args.family}:{ckpt}", device=args.device, dtype=args.dtype, **options)
    with _stage(stages, "encode", args.device, n):
        tokens = vlm.encode(images)
    reducer = reducers.make("kmeans")
    with _stage(stages, f"reduce (k-means K={args.k})", "cpu", n):
        payloads = reducer(tokens, args.k, seed=0, grid=vlm.grid)
    with _stage(stages, "codec encode + packetize", "cpu", n):
        sent = [codec.packetize(codec.encode(p, "fp16", "auto"), 1400) for p in payloads]
    link = channel.make("ideal")
    with _stage(stages, "channel (ideal)", "cpu", n):
        deliveries = [link.transmit(pk, seed=i) for i, pk in enumerate(sent)]
    with _stage(stages, "reassemble + decode", "cpu", n):
        received = [codec.conceal(codec.reassemble(d.packets)) for d in deliveries]
    with _stage(stages, "reconstruct", "cpu", n):
        rebuilt = [reconstruct(p) for p in received]
    with _stage(
        stages, f"generate ({args.max_new_tokens} tokens, beam {args.beams})", args.device, n
    ):
        captions = vlm.generate(rebuilt, max_new_tokens=args.max_new_tokens, num_beams=args.beams)
    bits = [sum(len(p) for p in pk) * 8 for pk in sent]
    return {
        "stages": stages,
        "n_tokens": vlm.n_tokens,
        "dim": vlm.dim,
        "bits_per_image": bits[0],
        "captions": len(captions),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--family", choices=sorted(REAL), default="paligemma")
    parser.add_argument(
        "--vision-layers", type=int, default=2, help="vision layers built (real: 27 / 32)"
    )
    parser.add_argument(
        "--text-layers", type=int, default=2, help="decoder layers built (real: 18 / 36)"
    )
    parser.add_argument("--images", type=int, default=2, help="images per batch")
    parser.add_argument("--k", type=int, default=8, help="k-means centroids")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32", help="dtype of the profiled run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU")
    parser.add_argument(
        "--skip-load-compare", action="store_true", help="no fp32/bf16 load subprocesses"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only-load", action="store_true", help="build + load comparison only")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    spec = REAL[args.family]
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        ckpt = Path(tmp) / args.family
        t0 = time.perf_counter()
        counts = build(args.family, ckpt, args.vision_layers, args.text_layers)
        build_s = time.perf_counter() - t0
        size_gib = sum(f.stat().st_size for f in ckpt.glob("*.safetensors")) / 2**30
        loads = {}
        if not args.skip_load_compare:
            for dtype in ("fp32", "bf16"):
                loads[dtype] = load_peak(args.family, ckpt, dtype, args.device)
        result = {"stages": {}, "n_tokens": 0, "dim": 0, "bits_per_image": 0}
        if not args.only_load:
            result = profile(args, ckpt)
    result.update(
        family=spec["name"],
        layers={
            "vision": [args.vision_layers, spec["vision"]["layers"]],
            "text": [args.text_layers, spec["text"]["layers"]],
        },
        vocab={"built": "tiny tokenizer", "real": spec["vocab"]},
        params=counts,
        checkpoint_gib_fp32=size_gib,
        build_s=build_s,
        load_compare=loads,
        device=args.device,
        dtype=args.dtype,
    )
    print(
        f"{spec['name']} at real widths, vision {args.vision_layers}/{spec['vision']['layers']} "
        f"and decoder {args.text_layers}/{spec['text']['layers']} layers, vocabulary reduced "
        f"to the test tokenizer's (real {spec['vocab']:,}); {counts['built_params'] / 1e9:.2f} B "
        f"of the real {counts['real_params'] / 1e9:.2f} B parameters; fp32 checkpoint "
        f"{size_gib:.2f} GiB; {args.device}, {args.dtype}, {torch.get_num_threads()} thread(s); "
        f"N={result['n_tokens']} x D={result['dim']}, {result['bits_per_image']:,} bits/image"
    )
    cuda = args.device.startswith("cuda")
    head = (
        f"{'stage':38s} {'CPU s/img':>9s} {'wall s':>8s} {'s/image':>8s} {'peak RSS GiB':>13s}"
        + (f" {'peak CUDA GiB':>14s}" if cuda else "")
    )
    if result["stages"]:
        print(head)
    for name, row in result["stages"].items():
        line = (
            f"{name:38s} {row['cpu_s_per_image']:9.3f} {row['s']:8.3f} {row['s_per_image']:8.3f} "
            f"{row['peak_rss_gib']:13.2f}"
        )
        if cuda:
            line += f" {row.get('peak_cuda_gib', 0.0):14.2f}"
        print(line)
    for dtype, row in loads.items():
        print(
            f"load {dtype} in a fresh process: {row['s']:.2f} s; during the load peak RSS "
            f"+{row['peak_gib']:.2f} GiB, peak anonymous +{row['peak_anon_gib']:.2f} GiB; "
            f"resident once every weight is read +{row['resident_gib']:.2f} GiB "
            f"(weights {row['weights_gib']:.2f} GiB)"
        )
    print(
        "(stage peaks are RSS, file-backed pages included: an fp32 load memory-maps the "
        "safetensors file, whose pages count when first read, in encode / generate)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
