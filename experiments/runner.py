"""The sweep runner: every row of a config, each image encoded once, generation batched.

Pipeline of one token row and image (all stages are the shared interfaces)::

    tokens [N, D] (cached)  --reducer--> Payload            (cached per reducer, K, seed)
      --codec.encode--> bytes --codec.packetize--> packets   (bits = sum(len) * 8)
      --channel.transmit--> Delivery --codec.reassemble--> Reassembled
      --codec.conceal--> Payload' --reconstruct--> tokens' [N', D]
      --VLM.generate (batched across images and rows; each distinct token sequence
                      once per run)--> caption

Over an analog channel :func:`collab_infer.analog_tx.send_payload` replaces encode ...
conceal: vector values as analog symbols (minus a per-dimension prior estimated from
the row's other images), side information (indices / positions, scale) over the
link's real coded side channel; its bytes are the row's bits, and an image whose side
information is lost is lost. Image rows (JPEG / WebP) go through
:mod:`experiments.jpeg_baseline`.

Channel cost columns (means over the row's images): ``channel_uses`` (complex symbols,
side information, coding, padding and retransmissions included), ``airtime_s``,
``latency_s``, ``energy_j = tx_power_w x airtime_s`` (config ``tx_power_w``, default
0.2 W), ``bits_on_air``, ``capacity_per_use`` (Shannon, bits per complex use at the
row's Es/N0, ergodic under fading; NaN without a physical channel) and
``capacity_ratio = channel_uses / (bits / capacity_per_use)`` (offered payload bits:
below 1 only where a link was driven above capacity, and then its packets are lost),
``capacity_ratio_delivered`` (the same for the payload bits of the packets that
arrived, ``delivered_bits``; inf when nothing arrived; >= 1 on every real link);
``packet_loss_rate`` and ``loss_burst_mean`` are realised over the row's packets in
image order.

A row with ``deadline_s`` (config ``deadlines``, :mod:`experiments.deadline`) sends
what its no-deadline row sends, and its packets arriving after the deadline are set to
None before reassembly (lost like any other; latency and cost columns stay the link's).

An image whose payload cannot be identified at all (``Reassembled.payload is None``, or
any lost packet of a JPEG / WebP) is *lost*: its caption is the empty string, scored as
such, and counted in ``images_lost``.

Seeds: the reducer of a row uses the row seed; the channel realisation of image ``i``
uses a seed derived from ``(row seed, i)`` only, so all schemes of a sweep see the same
channel draws for the same image (common random numbers: smoother comparisons). A row's
images go through one channel process in order, ``ch.stream(derive_seed(row seed,
STREAM_KEY))``: stateless channels give exactly the per-image draws, Gilbert-Elliott
carries its state from image to image.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.metadata as _md
import json
import math
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from collab_infer.errors import CollabInferError
from experiments.config import RowSpec, SweepConfig, expand_rows, stable_hash
from experiments.deadline import apply_deadline, packet_arrival_s
from experiments.rows import ResultsStore

__all__ = [
    "ImageSet",
    "RunSummary",
    "run_sweep",
    "derive_seed",
    "model_fingerprint",
    "LOSS_PARAMS",
    "SNR_PARAMS",
]

#: channel parameter names recorded as the row's ``loss`` / ``snr_db`` columns
LOSS_PARAMS = ("loss_rate", "loss", "p_loss", "p", "erasure_prob")
SNR_PARAMS = ("snr_db", "esno_db", "ebno_db")
_METRICS = ("bleu1", "bleu2", "bleu3", "bleu4", "cider_d", "rouge_l", "sacrebleu")


def derive_seed(*parts: int) -> int:
    """A 31-bit seed from integers (numpy SeedSequence; stable across platforms)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] >> 1)


@dataclass(frozen=True)
class ImageSet:
    """The images of a sweep and their references (from ``collab_infer.datasets``)."""

    ids: list[str]
    images: list[Any]
    references: list[list[str]]
    #: per sample its VQA question (None for captioning; empty: no sample has one)
    questions: list[str | None] = field(default_factory=list)

    @classmethod
    def from_samples(cls, samples: Sequence[Any]) -> ImageSet:
        samples = list(samples)
        if not samples:
            raise CollabInferError("the dataset yielded no images; check dataset.n and split")
        for s in samples:
            if not s.references:
                raise CollabInferError(f"image {s.id!r} has no reference captions to score")
        questions = [getattr(s, "question", None) for s in samples]
        return cls(
            [s.id for s in samples],
            [s.image for s in samples],
            [list(s.references) for s in samples],
            questions if any(q is not None for q in questions) else [],
        )

    def __len__(self) -> int:
        return len(self.ids)

    def fingerprint(self) -> str:
        """Hash of ids, pixels (SHA-256 of each RGB image) and references."""
        import hashlib

        pixels = [
            hashlib.sha256(im.convert("RGB").tobytes() + repr(im.size).encode()).hexdigest()[:16]
            for im in self.images
        ]
        if self.questions:  # (caption sets keep their fingerprints)
            return stable_hash([self.ids, pixels, self.references, self.questions])
        return stable_hash([self.ids, pixels, self.references])


@dataclass
class RunSummary:
    """What one :func:`run_sweep` call did.

    ``rows`` are all the config's rows (finished before or now), ``row_hashes`` the
    hashes of the rows computed by this call."""

    config: str
    rows_total: int
    rows_skipped: int
    rows_run: int
    seconds: float
    out_dir: Path
    rows: list[RowSpec] = field(default_factory=list)
    row_hashes: list[str] = field(default_factory=list)


def model_fingerprint(model: Any) -> str:
    """A hash identifying the model's numbers: its ``describe()`` without device and
    checkpoint path, plus the SHA-256 of every weight file (checkpoint directory, hub id,
    or the built-in model's packaged files; see ``collab_infer.models.fingerprint``), so
    random-init, trained and retrained weights differ at any checkpoint size."""
    from collab_infer.models.fingerprint import model_identity

    return stable_hash(model_identity(model))


# --------------------------------------------------------------------------- helpers


@functools.cache
def _versions() -> dict[str, str]:
    out = {}
    for name in ("collab-infer", "torch", "transformers", "sionna-no-rt"):
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = "absent"
    return out


@functools.cache
def _git_hash() -> str:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return res.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _first(params: dict[str, Any], names: Sequence[str]) -> float:
    for n in names:
        if n in params and isinstance(params[n], int | float):
            return float(params[n])
    return math.nan


class _Components:
    """Lazy access to the shared stages (overridable in tests)."""

    def __init__(self) -> None:
        import channel
        import codec
        from collab_infer import reducers
        from collab_infer.reconstruct import reconstruct

        self.codec = codec
        self.channel = channel
        self.reducers = reducers
        self.reconstruct = reconstruct
        self._built: dict[str, Any] = {}

    def _build(self, kind: str, make, name: str, params: dict[str, Any]):
        """``make(name, **params)``, built once per (kind, name, params); a bad name or
        parameter becomes a CollabInferError naming the component."""
        key = stable_hash([kind, name, params])
        if key not in self._built:
            try:
                self._built[key] = make(name, **params)
            except (TypeError, ValueError) as exc:
                raise CollabInferError(f"{kind} {name!r} with {params}: {exc}") from exc
        return self._built[key]

    def make_channel(self, name: str, params: dict[str, Any]):
        return self._build("channel", self.channel.make, name, params)

    def reducer(self, name: str, params: dict[str, Any]):
        return self._build("reducer", self.reducers.make, name, params)


def _preflight(cfg: SweepConfig, comps: _Components) -> None:
    """Check names against the registries before anything heavy runs."""
    from experiments.config import TokenSchemeSpec

    formats = tuple(getattr(comps.codec, "NUMBER_FORMATS", ()))
    for i, scheme in enumerate(cfg.schemes):
        if isinstance(scheme, TokenSchemeSpec):
            comps.reducer(scheme.reducer, dict(scheme.reducer_params))
            bad = [f for f in scheme.number_formats if formats and f not in formats]
            if bad:
                raise CollabInferError(
                    f"config {cfg.name}: schemes.{i}.number_formats: {bad} not supported; "
                    f"choose from {list(formats)}"
                )
    for ch in cfg.channels:
        for params in ch.settings():
            comps.make_channel(ch.name, params)


# --------------------------------------------------------------------------- the run


def run_sweep(
    cfg: SweepConfig,
    out_dir: str | Path,
    *,
    model: Any = None,
    images: ImageSet | None = None,
    progress: bool = True,
    components: Any = None,
    max_rows: int | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    executor: Any = None,
) -> RunSummary:
    """Run every row of ``cfg`` not yet in ``out_dir``'s results (resumable).

    :param cfg: a validated :class:`SweepConfig`
    :param out_dir: folder of ``results.parquet`` / ``results.csv`` / ``captions.jsonl``
    :param model: a loaded VLM (default: ``collab_infer.models.load(cfg.model.name)``)
    :param images: the image set (default: ``collab_infer.datasets.load(...)`` per cfg)
    :param progress: show a rich progress bar with ETA
    :param max_rows: stop after this many new rows (for tests of resumption)
    :param on_row: called with each finished results row
    :param executor: where the rows are computed (:mod:`experiments.executors`): None
        (this process: :class:`~experiments.executors.local.LocalExecutor` with ``model``
        and ``components``) or e.g. a ``RayExecutor``, which loads the model where it
        runs. Only this process writes ``out_dir``, whichever executor computes.
    :return: a :class:`RunSummary`
    """
    t0 = time.perf_counter()
    comps = components or _Components()
    _preflight(cfg, comps)
    if executor is None:
        from experiments.executors.local import LocalExecutor

        executor = LocalExecutor(model=model, components=comps)
    elif model is not None or components is not None:
        raise ValueError(
            "run_sweep: model= and components= are for the local executor; a remote "
            "executor loads cfg.model itself (pass model=None, components=None)"
        )
    if images is None:
        from collab_infer import datasets

        images = ImageSet.from_samples(
            datasets.load(
                cfg.dataset.name,
                split=cfg.dataset.split,
                n=cfg.dataset.n,
                seed=cfg.dataset.seed,
                **cfg.dataset.options,
            )
        )
    store = ResultsStore(out_dir)
    n_tokens, model_id = executor.open(cfg, images)  # (model.n_tokens, model_fingerprint)
    rows = expand_rows(cfg, n_tokens, model_id=model_id, images_id=images.fingerprint())
    done = store.done()
    todo = [r for r in rows if r.row_hash not in done]
    summary = RunSummary(
        cfg.name, len(rows), len(rows) - len(todo), 0, 0.0, Path(out_dir), rows=rows
    )
    if max_rows is not None:
        todo = todo[:max_rows]
    if not todo:
        summary.seconds = time.perf_counter() - t0
        return summary

    # rows per generation group: enough (row x image) items to fill a batch
    group = max(1, math.ceil(cfg.generation.batch_size / len(images)))
    groups = [todo[i : i + group] for i in range(0, len(todo), group)]
    with store.lock(), _progress(progress, len(todo) * len(images), cfg.name) as advance:
        # each group's rows (RunContext.run_group), in any order, as they finish
        for results in executor.run_groups(groups, advance):
            for res in results:
                store.append_captions(res.pop("_captions"))
            store.append(results)
            for res in results:
                summary.row_hashes.append(res["row_hash"])
                if on_row is not None:
                    on_row(res)
            summary.rows_run += len(results)
    summary.seconds = time.perf_counter() - t0
    return summary


def _rate(column: Any, task: Any) -> str:
    """Throughput of a progress task: image-rows (one image through one row) per second."""
    return f"{task.speed or 0.0:.1f}/s"


class _progress:
    """A rich progress bar (or nothing) as a context manager yielding ``advance(n)``."""

    def __init__(self, enabled: bool, total: int, name: str) -> None:
        self.enabled, self.total, self.name = enabled, total, name
        self._p = None

    def __enter__(self):
        if not self.enabled:
            return lambda n=1: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("image-rows"),
            type("Rate", (ProgressColumn,), {"render": _rate})(),  # image-rows/s
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        self._p.__enter__()
        task = self._p.add_task(self.name, total=self.total)
        return lambda n=1: self._p.advance(task, n)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
        return False


@dataclass
class _Item:
    """One (row, image) pair on its way to the decoder."""

    row: int
    image: int
    tokens: Any  # Tensor [N', D] or None when the image is lost
    bits: int = 0
    payload_bytes: int = 0
    packets: int = 0
    packets_lost: int = 0
    bits_on_air: float = 0.0
    airtime_s: float = 0.0
    latency_s: float = 0.0
    channel_uses: float = 0.0
    lost_mask: tuple[bool, ...] = ()  # per packet, in order
    delivered_bits: int = 0  # bits of the packets that arrived
    stats: dict = field(default_factory=dict)
    caption: str = ""
    positions: Any = None  # Tensor [N'] of a dropped subset's kept grid positions, or None

    @classmethod
    def sent(
        cls, row: int, image: int, delivery: Any, *, bits: int, payload_bytes: int, packets: int
    ) -> _Item:
        """An item whose payload went over a channel: the counts given, the rest from its
        :class:`~channel.delivery.Delivery` (tokens still to be filled in)."""
        return cls(
            row,
            image,
            None,
            bits=bits,
            payload_bytes=payload_bytes,
            packets=packets,
            packets_lost=delivery.n_lost,
            bits_on_air=float(delivery.bits_on_air),
            airtime_s=float(delivery.airtime_s),
            latency_s=float(delivery.latency_s),
            channel_uses=float(delivery.channel_uses),
            lost_mask=tuple(p is None for p in delivery.packets),
            delivered_bits=8 * sum(len(p) for p in delivery.packets if p is not None),
            stats=delivery.stats,
        )


class _RunContext:
    """Caches of one run: image tokens, reducer payloads, decoded-image tokens, and the
    caption of each distinct token sequence."""

    def __init__(self, cfg: SweepConfig, model: Any, images: ImageSet, comps: Any) -> None:
        self.cfg, self.model, self.images, self.comps = cfg, model, images, comps
        self._tokens = None
        self._payloads: dict[str, list[Any]] = {}
        self._image_tokens: dict[tuple, Any] = {}
        self._captions: dict[bytes, str] = {}  # token digest -> caption (this run)
        self._priors: dict[str, list[Any]] = {}  # analog priors per payload set

    # -- caches
    def tokens(self):
        """[B, N, D] tokens of all images, encoded once in batches."""
        if self._tokens is None:
            import torch

            bs = self.cfg.generation.batch_size
            chunks = [
                self.model.encode(self.images.images[i : i + bs])
                for i in range(0, len(self.images), bs)
            ]
            self._tokens = torch.cat(chunks, dim=0)
        return self._tokens

    def payloads(self, row: RowSpec) -> list[Any]:
        key = stable_hash([row.reducer, row.reducer_params, row.k, row.seed])
        if key not in self._payloads:
            reducer = self.comps.reducer(row.reducer, row.reducer_params)
            k = row.k if row.k is not None else int(self.model.n_tokens)
            grid = getattr(self.model, "grid", None)
            self._payloads[key] = list(
                reducer(self.tokens(), k, seed=derive_seed(row.seed, 0xC0FFEE), grid=grid)
            )
        return self._payloads[key]

    def analog_priors(self, row: RowSpec) -> list[Any]:
        """Per-image analog priors: per-dimension mean / variance of the payload values
        of the row's *other* images (a stand-in for a per-model calibration set)."""
        key = stable_hash([row.reducer, row.reducer_params, row.k, row.seed])
        if key not in self._priors:
            from collab_infer.analog_tx import leave_one_out, payload_values

            self._priors[key] = leave_one_out([payload_values(p) for p in self.payloads(row)])
        return self._priors[key]

    # -- per-row transmission
    def _token_items(self, ri: int, row: RowSpec) -> list[_Item]:
        codec, comps = self.comps.codec, self.comps
        ch = comps.make_channel(row.channel, row.channel_params)
        stream = ch.stream(derive_seed(row.seed, STREAM_KEY))
        items = []
        for i, payload in enumerate(self.payloads(row)):
            seed = derive_seed(row.seed, i)
            if row.number_format == "analog":
                # vector values as analog symbols; the side message (scale + header +
                # indices / positions + CRC) over the coded side link is the row's bits
                from collab_infer.analog_tx import send_payload

                received, delivery = send_payload(
                    stream, payload, seed, prior=self.analog_priors(row)[i], mtu=row.mtu
                )
                late = _late(delivery, ch, row.deadline_s)
                received = None if late.n_lost > delivery.n_lost else received
                delivery = late
                it = _Item.sent(
                    ri,
                    i,
                    delivery,
                    bits=8 * int(delivery.stats["side_bytes"]),
                    payload_bytes=int(delivery.stats["side_bytes"]),
                    packets=len(delivery.packets),
                )

            else:
                data = codec.encode(
                    payload, number_format=row.number_format, index_coding=row.index_coding
                )
                packets = codec.packetize(data, mtu=row.mtu)
                delivery = _late(stream.transmit(packets, seed), ch, row.deadline_s)
                it = _Item.sent(
                    ri,
                    i,
                    delivery,
                    bits=sum(len(p) for p in packets) * 8,
                    payload_bytes=len(data),
                    packets=len(packets),
                )
                reassembled = codec.reassemble(delivery.packets)
                received = None if reassembled.payload is None else codec.conceal(reassembled)
            if received is not None:
                from collab_infer.reconstruct import token_positions

                it.tokens = comps.reconstruct(received, subset_mode=row.subset_mode, fill=row.fill)
                it.positions = token_positions(received, subset_mode=row.subset_mode)
            items.append(it)
        return items

    def _image_items(self, ri: int, row: RowSpec) -> list[_Item]:
        from experiments.jpeg_baseline import encode_image, receive_image, split_packets

        ch = self.comps.make_channel(row.channel, row.channel_params)
        stream = ch.stream(derive_seed(row.seed, STREAM_KEY))
        items, pending = [], []
        for i, image in enumerate(self.images.images):
            data = encode_image(image, row.image_codec, row.quality)
            packets = split_packets(data, row.mtu)
            delivery = _late(stream.transmit(packets, derive_seed(row.seed, i)), ch, row.deadline_s)
            it = _Item.sent(
                ri,
                i,
                delivery,
                bits=sum(len(p) for p in packets) * 8,
                payload_bytes=len(data),
                packets=len(packets),
            )
            intact = list(delivery.packets) == packets
            key = (row.image_codec, row.quality, i)
            if intact and key in self._image_tokens:
                it.tokens = self._image_tokens[key]
            else:
                decoded = receive_image(delivery.packets)
                if decoded is not None:
                    pending.append((it, decoded, key if intact else None))
            items.append(it)
        bs = self.cfg.generation.batch_size
        for s in range(0, len(pending), bs):
            chunk = pending[s : s + bs]
            toks = self.model.encode([d for _, d, _ in chunk])
            for (it, _, key), t in zip(chunk, toks, strict=True):
                it.tokens = t
                if key is not None:
                    self._image_tokens[key] = t
        return items

    # -- a group of rows: transmit, generate together, score
    def run_group(self, rows: list[RowSpec], advance: Callable[[int], None]) -> list[dict]:
        t0 = time.perf_counter()
        items: list[_Item] = []
        rows = [self.fit_budget(row) for row in rows]
        for ri, row in enumerate(rows):
            if row.budget_fit not in (None, "fits"):  # nothing fits: nothing sent, all lost
                items.extend(_Item(ri, i, None) for i in range(len(self.images)))
                continue
            items.extend(
                self._image_items(ri, row) if row.kind == "image" else self._token_items(ri, row)
            )
        self._caption(items, advance)
        per_row_s = (time.perf_counter() - t0) / len(rows)
        out = [
            self._score(row, [it for it in items if it.row == ri], per_row_s)
            for ri, row in enumerate(rows)
        ]
        for res, row in zip(out, rows, strict=True):
            if row.budget_fit not in (None, "fits"):
                res["k"], res["k_over_n"] = None, math.nan
        return out

    # -- channel-use budgets (experiments.budget)
    def fit_budget(self, row: RowSpec) -> RowSpec:
        """The concrete row that fills ``row``'s channel-use budget (``row`` without one)."""
        if row.budget_channel_uses is None:
            return row
        from experiments.budget import fit_row

        return fit_row(
            row,
            channel=self.comps.make_channel(row.channel, row.channel_params),
            n_tokens=int(self.model.n_tokens),
            payloads=self.payloads,
            images=self.images.images,
            analog_plan=functools.partial(_analog_plan, mtu=row.mtu),
            image_bytes=self.image_bytes,
            token_packets=self.token_packets,
        )

    def token_packets(self, row: RowSpec, number_format: str, coding: str) -> list[list[bytes]]:
        """Every image's packets of ``row``'s payloads in a number format (cached)."""
        codec = self.comps.codec
        key = stable_hash([row.reducer, row.reducer_params, row.k, row.seed, row.mtu])
        cache = self.__dict__.setdefault("_packets", {})
        if (key, number_format, coding) not in cache:
            cache[key, number_format, coding] = [
                codec.packetize(
                    codec.encode(p, number_format=number_format, index_coding=coding), row.mtu
                )
                for p in self.payloads(row)
            ]
        return cache[key, number_format, coding]

    def image_bytes(self, i: int, codec: str, quality: int) -> bytes:
        """Image ``i`` encoded by ``codec`` at ``quality`` (cached for the run)."""
        from experiments.jpeg_baseline import encode_image

        cache = self.__dict__.setdefault("_encoded", {})
        if (i, codec, quality) not in cache:
            cache[i, codec, quality] = encode_image(self.images.images[i], codec, quality)
        return cache[i, codec, quality]

    def _prompt(self, it: _Item) -> str | None:
        """The decoder prompt of an item (collab_infer.tasks: the task's template, with
        the sample's question for VQA)."""
        from collab_infer.tasks import family_of, fill_prompt, prompt_template

        if "_template" not in self.__dict__:
            gen = self.cfg.generation
            self._template = prompt_template(self.cfg.task, family_of(self.model), gen.prompt)
        questions = self.images.questions
        return fill_prompt(self._template, questions[it.image] if questions else None)

    def _caption(self, items: list[_Item], advance: Callable[[int], None]) -> None:
        """Caption every item with tokens; lost items keep the empty caption.

        Each distinct token sequence is generated once per run: items whose tokens are
        byte-identical (same shape, dtype and values, e.g. the same payload delivered
        intact over several channel settings) share one caption, found by a SHA-256
        digest of the tensor (and of its kept grid positions, for a dropped subset: equal
        tokens at different positions are different inputs). The distinct sequences go to
        the decoder sorted by length (similar lengths batch together, so little padding)
        in the fewest batches of at most ``generation.batch_size``, of equal sizes."""
        pending: dict[bytes, list[_Item]] = {}
        done = 0
        for it in items:
            if it.tokens is None:
                done += 1
                continue
            key = _token_digest(it.tokens, it.positions) + str(self._prompt(it)).encode()
            if key in self._captions:
                it.caption = self._captions[key]
                done += 1
            else:
                pending.setdefault(key, []).append(it)
        advance(done)
        if not pending:
            return
        from collab_infer.tasks import generate_prompted

        todo = sorted(pending.items(), key=lambda kv: int(kv[1][0].tokens.shape[0]))
        gen = self.cfg.generation
        # as few batches as batch_size allows, of equal sizes (120 -> 60 + 60, not 100 +
        # 20: as many calls, a smaller largest batch)
        n_batches = -(-len(todo) // gen.batch_size)
        bounds = [b * len(todo) // n_batches for b in range(n_batches + 1)]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            chunk = todo[lo:hi]
            caps = generate_prompted(
                self.model,
                [same[0].tokens for _, same in chunk],
                [self._prompt(same[0]) for _, same in chunk],
                max_new_tokens=gen.max_new_tokens,
                num_beams=gen.num_beams,
                positions=[same[0].positions for _, same in chunk],
            )
            for (key, same), c in zip(chunk, caps, strict=True):
                self._captions[key] = c
                for it in same:
                    it.caption = c
            advance(sum(len(same) for _, same in chunk))

    def _score(self, row: RowSpec, items: list[_Item], elapsed_s: float) -> dict[str, Any]:
        from collab_infer.tasks import primary_metric, score_task

        items.sort(key=lambda it: it.image)
        hyps = [it.caption for it in items]
        refs = self.images.references
        scores, ci = score_task(
            row.task,
            hyps,
            refs,
            n_boot=self.cfg.metrics.n_boot,
            alpha=self.cfg.metrics.alpha,
            seed=derive_seed(row.seed, 0xB007),
            tokenizer=self.cfg.metrics.tokenizer,
        )
        n_tokens = int(self.model.n_tokens)
        k = row.k if row.k is not None else (n_tokens if row.kind == "tokens" else None)
        sent = sum(it.packets for it in items)
        lost = sum(it.packets_lost for it in items)
        ch = self.comps.make_channel(row.channel, row.channel_params)
        out: dict[str, Any] = {
            "row_hash": row.row_hash,
            **{f: getattr(row, f) for f in row.__dataclass_fields__},
            "n_images": len(items),
            "n_images_requested": row.n_images,
            "n_tokens": n_tokens,
            "dim": int(self.model.dim),
            "k": k,
            "k_over_n": (k / n_tokens) if k is not None else math.nan,
            "snr_db": _first(row.channel_params, SNR_PARAMS),
            "loss": _first(row.channel_params, LOSS_PARAMS),
            "payload_bytes": float(np.mean([it.payload_bytes for it in items])),
            "bits": float(np.mean([it.bits for it in items])),
            "packets": float(np.mean([it.packets for it in items])),
            "packets_lost": int(lost),
            "packet_loss_rate": lost / sent if sent else 0.0,
            "images_lost": int(sum(it.tokens is None for it in items)),
            "deadline_s": math.nan if row.deadline_s is None else float(row.deadline_s),
            **_costs(items, ch, self.cfg.tx_power_w),
            **_channel_stats(items),
            "channel_desc": json.dumps(ch.describe(), sort_keys=True, default=str),
            **scores,
            "primary_metric": primary_metric(row.task, row.dataset),
            **{f"{m}_lo": ci[m][0] for m in ci},
            **{f"{m}_hi": ci[m][1] for m in ci},
            "config_hash": self.cfg.config_hash(),
            "model_desc": json.dumps(_describe(self.model), sort_keys=True, default=str),
            "versions": json.dumps(_versions(), sort_keys=True),
            "git_hash": _git_hash(),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "elapsed_s": elapsed_s,
        }
        out["_captions"] = [
            {
                "row_hash": row.row_hash,
                "image_id": self.images.ids[it.image],
                "caption": it.caption,
                "lost": it.tokens is None,
                "bits": it.bits,
            }
            for it in items
        ]
        return out


#: numeric Delivery.stats keys averaged over a row's images into ``ch_<key>`` columns
CHANNEL_STATS = (
    "mcs_index",
    "bler",
    "block_errors",
    "bit_errors",
    "symbols",
    "analog_symbols",
    "analog_values",
    "values_sent",
    "side_symbols",
    "side_lost",
    "side_info_bits_per_use",
    "side_capacity_ratio",
    "value_snr_db",
    "mse",
    "bad_fraction",
    "first_tx_bler",
    "residual_bler",
    "harq_transmissions",
    "mcs_mean",
    "olla_offset_end_db",
    "tb_count",
)

#: sub-stream key of a row's channel process (``ch.stream``)
STREAM_KEY = 0x57EA


def _costs(items: list[_Item], ch: Any, tx_power_w: float) -> dict[str, float]:
    """A row's channel-cost columns (means over its images; see the module docstring)."""
    mean = {
        key: float(np.mean([getattr(it, key) for it in items])) if items else 0.0
        for key in ("bits_on_air", "airtime_s", "latency_s", "channel_uses", "bits")
    }
    delivered = float(np.mean([it.delivered_bits for it in items])) if items else 0.0
    cap = ch.capacity_per_use()
    cap = math.nan if cap is None else float(cap)
    needed = mean["bits"] / cap if cap > 0 else math.nan  # NaN stays NaN
    ratio = mean["channel_uses"] / needed if needed > 0 else math.nan
    got = delivered / cap if cap > 0 else math.nan
    if math.isnan(got):
        ratio_delivered = math.nan
    else:
        ratio_delivered = mean["channel_uses"] / got if got > 0 else math.inf
    from channel.erasure import loss_runs

    runs = loss_runs(np.array([lost for it in items for lost in it.lost_mask], dtype=bool))
    return {
        "bits_on_air": mean["bits_on_air"],
        "airtime_s": mean["airtime_s"],
        "latency_s": mean["latency_s"],
        "channel_uses": mean["channel_uses"],
        "tx_power_w": float(tx_power_w),
        "energy_j": float(tx_power_w) * mean["airtime_s"],
        "capacity_per_use": cap,
        "capacity_ratio": ratio,
        "delivered_bits": delivered,
        "capacity_ratio_delivered": ratio_delivered,
        "loss_burst_mean": float(np.mean(runs)) if runs.size else 0.0,
    }


def _late(delivery: Any, ch: Any, deadline_s: float | None) -> Any:
    """``delivery`` with its packets arriving after ``deadline_s`` lost
    (:mod:`experiments.deadline`; unchanged without a deadline)."""
    if deadline_s is None:
        return delivery
    return apply_deadline(delivery, packet_arrival_s(delivery, ch), deadline_s)


def _analog_plan(link: Any, payload: Any, *, mtu: int) -> float:
    """Planned channel uses of one payload over an analog link (values + side info)."""
    from collab_infer.analog_tx import planned_channel_uses

    return float(planned_channel_uses(link, payload, mtu=mtu))


def _token_digest(tokens: Any, positions: Any = None) -> bytes:
    """SHA-256 of a token tensor's shape, dtype and values, and of its grid ``positions``
    when given (equal digests: equal tensors at equal positions; ``positions=None`` gives
    the digest of the tokens alone)."""
    import hashlib

    import torch

    t = tokens.detach().cpu().contiguous()
    h = hashlib.sha256(repr((tuple(t.shape), str(t.dtype))).encode())
    h.update(t.reshape(-1).view(torch.uint8).numpy())  # the raw bytes, any dtype
    if positions is not None:
        pos = positions.detach().to("cpu", torch.int64).contiguous()
        h.update(b"positions" + repr(tuple(pos.shape)).encode())
        h.update(pos.reshape(-1).view(torch.uint8).numpy())
    return h.digest()


def _channel_stats(items: list[_Item]) -> dict[str, float]:
    out = {}
    for key in CHANNEL_STATS:
        vals = [it.stats.get(key) for it in items]
        vals = [float(v) for v in vals if isinstance(v, int | float) and not isinstance(v, bool)]
        if vals:
            out[f"ch_{key}"] = float(np.mean(vals))
    return out


def _describe(model: Any) -> dict:
    return dict(model.describe())
