"""Sweep configuration: a YAML file validated with pydantic.

A config names the model, the image set, the generation settings, the schemes
(token reducers with budgets, number formats and index coding; or image codecs with a
quality sweep), the channels (registry name, fixed parameters, SNR / loss sweeps) and
the seeds. :func:`expand_rows` turns it into the list of :class:`RowSpec` (one per
image set x scheme x budget x number format x channel x SNR / loss x seed), each with
a stable hash that identifies its result row.

Errors name the field and say why (pydantic's messages, prefixed with the file)::

    sweep config experiments/configs/x.yaml is invalid:
      schemes.0.budgets: Value error, give exactly one of k or ratio

Example (``experiments/configs/fig3.yaml`` is a complete one)::

    name: fig3
    model: {name: default}
    dataset: {name: shapes, split: test, n: 64, seed: 0}
    generation: {max_new_tokens: 24, num_beams: 1, batch_size: 64}
    schemes:
      - {label: kmeans, reducer: kmeans, budgets: {k: [1, 2, 4, 8, 16]}}
      - {label: full, reducer: full}
    channels:
      - {name: ideal}
    seeds: [0]
    quick: {dataset: {n: 4}}
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collab_infer.errors import CollabInferError
from experiments.budget import ChannelUseBudget
from experiments.deadline import DeadlineSpec, with_deadlines

__all__ = [
    "BudgetSpec",
    "ChannelSpec",
    "DatasetSpec",
    "GenerationSpec",
    "ImageSchemeSpec",
    "MetricsSpec",
    "ModelSpec",
    "RowSpec",
    "SweepConfig",
    "TokenSchemeSpec",
    "expand_rows",
    "load_config",
    "stable_hash",
]


#: largest integer a results.parquet column holds (seeds are stored as int64)
INT64_MAX = 2**63 - 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """The VLM: a ``collab_infer.models.load`` name or path, and where it is split:
    ``"projector"`` (the paper's: edge runs vision tower + projector, tokens in the
    language model's width) or ``"vision"`` (before the projector).

    ``device_map`` (``"auto"``, for a model too large for one GPU) and ``options`` (the
    adapter's own settings, e.g. ``{"image_size": [448, 448]}``) go to ``load`` as
    ``load(name, ..., device_map=..., **options)``; they enter the row hash only when set
    (:meth:`hash_fields`), so rows of configs without them keep their hashes."""

    name: str = "default"
    split: Literal["projector", "vision"] = "projector"
    device: str | None = None
    dtype: str | None = None
    device_map: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _options_not_load_args(self) -> ModelSpec:
        load_args = {"name_or_path", "device", "dtype", "split", "device_map"}
        clash = sorted(set(self.options) & load_args)
        if "prompt" in self.options:
            raise ValueError("set the prompt in generation.prompt, not in model.options")
        if clash:
            raise ValueError(f"set {', '.join(clash)} in model itself, not in model.options")
        return self

    def load_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``collab_infer.models.load(self.name, **...)``."""
        out: dict[str, Any] = dict(device=self.device, dtype=self.dtype, split=self.split)
        if self.device_map is not None:
            out["device_map"] = self.device_map
        return {**out, **self.options}

    def cache_key(self) -> str:
        """Identifies the loaded model (name and every load argument), for model caches."""
        return stable_hash({"name": self.name, **self.load_kwargs()})

    def hash_fields(self) -> dict[str, Any]:
        """The load arguments beyond name and split that are set (``device_map``,
        ``options``): empty for a spec without them."""
        out: dict[str, Any] = {}
        if self.device_map is not None:
            out["device_map"] = self.device_map
        if self.options:
            out["options"] = dict(self.options)
        return out


class DatasetSpec(_Strict):
    """The image set: ``collab_infer.datasets.load(name, split=..., n=..., seed=...)``."""

    name: str = "shapes"
    split: str = "test"
    n: int | None = Field(default=None, ge=1, description="number of images (None: all)")
    seed: int = Field(default=0, ge=0, le=INT64_MAX)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _loadable(self) -> DatasetSpec:
        # name, split, options, paths and memory for n, checked before any model loads
        from collab_infer.datasets import check

        clash = sorted(set(self.options) & {"name", "split", "n", "seed"})
        if clash:
            raise ValueError(f"set {', '.join(clash)} in dataset itself, not in dataset.options")
        check(self.name, split=self.split, n=self.n, seed=self.seed, **self.options)
        return self


class GenerationSpec(_Strict):
    """Prompt and decoding settings (the prompt defaults to the model's own)."""

    prompt: str | None = None
    max_new_tokens: int = Field(default=32, ge=1, le=512)
    num_beams: int = Field(default=1, ge=1, le=16)
    batch_size: int = Field(default=32, ge=1)


class BudgetSpec(_Strict):
    """Token budget: a list of absolute K (centroids / kept tokens) or of ratios K/N."""

    k: list[int] | None = None
    ratio: list[float] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> BudgetSpec:
        if (self.k is None) == (self.ratio is None):
            raise ValueError("give exactly one of k or ratio")
        values = self.k if self.k is not None else self.ratio
        if not values:
            raise ValueError("the budget list must not be empty")
        if self.k is not None and min(self.k) < 1:
            raise ValueError(f"k values must be >= 1, got {self.k}")
        if self.ratio is not None and not all(0 < r <= 1 for r in self.ratio):
            raise ValueError(f"ratio values must lie in (0, 1], got {self.ratio}")
        return self

    def resolve(self, n_tokens: int) -> list[int]:
        """Absolute budgets for a model with ``n_tokens`` visual tokens (sorted, unique;
        a ratio becomes ``max(1, round(ratio * N))``; K is capped at N)."""
        if self.k is not None:
            ks = [min(int(k), n_tokens) for k in self.k]
        else:
            ks = [max(1, min(n_tokens, round(r * n_tokens))) for r in self.ratio or []]
        return sorted(set(ks))


class TokenSchemeSpec(_Strict):
    """Send (reduced) visual tokens: reducer -> codec -> channel -> reconstruct."""

    kind: Literal["tokens"] = "tokens"
    label: str | None = None
    reducer: str
    reducer_params: dict[str, Any] = Field(default_factory=dict)
    budgets: BudgetSpec | None = None
    number_formats: list[str] = Field(default_factory=lambda: ["fp16"], min_length=1)
    index_coding: list[str] = Field(default_factory=lambda: ["auto"], min_length=1)
    subset_mode: Literal["fill", "drop"] = "fill"
    fill: Literal["mean", "zeros"] = "mean"
    #: only over these channels (their labels; None: every channel of the sweep)
    channels: list[str] | None = None

    @model_validator(mode="after")
    def _budget_needed(self) -> TokenSchemeSpec:
        if self.reducer != "full" and self.budgets is None:
            raise ValueError(f"reducer {self.reducer!r} needs budgets (k: [...] or ratio: [...])")
        if self.reducer == "full" and self.budgets is not None:
            raise ValueError("reducer 'full' sends all N tokens: remove budgets")
        return self

    @property
    def name(self) -> str:
        return self.label or self.reducer


class ImageSchemeSpec(_Strict):
    """Send the image itself (JPEG / WebP / AVIF / JPEG XL at a quality sweep); the server
    runs the full VLM."""

    kind: Literal["image"] = "image"
    label: str | None = None
    codec: Literal["jpeg", "webp", "avif", "jxl"] = "jpeg"
    qualities: list[int] = Field(min_length=1)
    #: only over these channels (their labels; None: every channel of the sweep)
    channels: list[str] | None = None

    @field_validator("qualities")
    @classmethod
    def _q_range(cls, v: list[int]) -> list[int]:
        if not all(1 <= q <= 100 for q in v):
            raise ValueError(f"qualities must lie in [1, 100], got {v}")
        return v

    @property
    def name(self) -> str:
        return self.label or self.codec


class ChannelSpec(_Strict):
    """A link model ``channel.make(name, **params)``; ``sweep`` maps parameter names to
    value lists (their product is swept), e.g. ``{snr_db: [0, 5, 10]}``."""

    name: str = "ideal"
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("sweep")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"sweep list {key!r} must not be empty")
        return v

    @model_validator(mode="after")
    def _no_overlap(self) -> ChannelSpec:
        both = set(self.params) & set(self.sweep)
        if both:
            raise ValueError(f"parameters {sorted(both)} are both fixed (params) and swept (sweep)")
        return self

    def settings(self) -> list[dict[str, Any]]:
        """Every parameter dict of the sweep (fixed params merged in)."""
        keys = sorted(self.sweep)
        out = []
        for values in itertools.product(*(self.sweep[k] for k in keys)):
            out.append({**self.params, **dict(zip(keys, values, strict=True))})
        return out

    @property
    def display(self) -> str:
        return self.label or self.name


class MetricsSpec(_Strict):
    """Bootstrap settings for the confidence intervals of each row."""

    n_boot: int = Field(default=1000, ge=10, le=1_000_000)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    #: caption tokenizer: "ptb" (pure Python, pycocoevalcap's PTBTokenizer re-implemented)
    #: or "corenlp" (runs pycocoevalcap's CoreNLP jar; needs Java)
    tokenizer: Literal["ptb", "corenlp"] = "ptb"

    @model_validator(mode="after")
    def _java_for_corenlp(self) -> MetricsSpec:
        if self.tokenizer == "corenlp":  # fail before any model loads, not at the first row
            from collab_infer.metrics.corenlp import check_corenlp

            check_corenlp()
        return self


Scheme = Annotated[TokenSchemeSpec | ImageSchemeSpec, Field(discriminator="kind")]


class SweepConfig(_Strict):
    """One sweep (one report figure)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    model: ModelSpec = Field(default_factory=ModelSpec)
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    schemes: list[Scheme] = Field(min_length=1)
    channels: list[ChannelSpec] = Field(default_factory=lambda: [ChannelSpec()], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    mtu: int = Field(default=1400, ge=64, le=65535)
    tx_power_w: float = Field(
        default=0.2,
        gt=0,
        le=1000,
        description="transmit power in W for each row's energy_j = tx_power_w x airtime_s "
        "(default 0.2 W = 23 dBm, the 3GPP UE power class 3)",
    )
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)
    #: "caption" (caption metrics vs reference captions) or "vqa" (the decoder gets the
    #: family's VQA prompt + each sample's question; VQA metrics vs the human answers)
    task: Literal["caption", "vqa"] = "caption"
    #: fix complex channel uses per image; every scheme fills it (experiments.budget)
    budget: ChannelUseBudget | None = None
    #: latency deadlines: extra rows with late packets lost (experiments.deadline)
    deadlines: DeadlineSpec | None = None
    quick: dict[str, Any] | None = Field(
        default=None, description="overrides deep-merged into this config by --quick"
    )

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if any(s < 0 for s in v):
            raise ValueError(f"seeds must be >= 0, got {v}")
        if any(s > INT64_MAX for s in v):
            raise ValueError(
                f"seeds must be < 2**63 (results.parquet stores them as int64), got "
                f"{[s for s in v if s > INT64_MAX]}"
            )
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be unique, got {v}")
        return v

    @model_validator(mode="after")
    def _scheme_channels(self) -> SweepConfig:
        labels = [c.display for c in self.channels]
        for i, s in enumerate(self.schemes):
            bad = [c for c in s.channels or [] if c not in labels]
            if bad:
                raise ValueError(
                    f"schemes.{i}.channels: {bad} name no channel of this sweep; "
                    f"channel labels are {labels}"
                )
        return self

    @model_validator(mode="after")
    def _vqa_prompt(self) -> SweepConfig:
        prompt = self.generation.prompt
        if self.task == "vqa" and prompt is not None and "{question}" not in prompt:
            raise ValueError(
                f"generation.prompt {prompt!r} has no '{{question}}': for task vqa it is a "
                "template the question is put into (e.g. 'answer en {question}'), or leave "
                "it out for the model family's own"
            )
        return self

    @field_validator("schemes", mode="before")
    @classmethod
    def _scheme_kind(cls, v: Any) -> Any:
        # default kind: "tokens"; lets pydantic report errors for the right variant
        if isinstance(v, list):
            return [
                {"kind": "tokens", **s} if isinstance(s, dict) and "kind" not in s else s for s in v
            ]
        return v

    def config_hash(self) -> str:
        """Hash of the whole config (quick overrides excluded)."""
        return stable_hash(self.model_dump(mode="json", exclude={"quick"}))

    def quick_variant(self) -> SweepConfig:
        """This config with its ``quick`` overrides applied (itself if it has none)."""
        if not self.quick:
            return self
        base = self.model_dump(mode="json", exclude={"quick"})
        return _validate(_deep_merge(base, self.quick), f"{self.name} (quick overrides)")


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validate(data: Any, source: str) -> SweepConfig:
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise CollabInferError(f"sweep config {source} is invalid:\n" + "\n".join(lines)) from None


def load_config(
    source: str | Path | dict, *, quick: bool = False, overrides: Sequence[str] = ()
) -> SweepConfig:
    """Read and validate a sweep config (a YAML path or an already parsed dict).

    :param quick: apply the config's ``quick`` overrides
    :param overrides: ``KEY=VALUE`` strings (``collab-infer sweep --set``) set in the
        mapping before validation, and again after ``quick`` (so they win over it); see
        :mod:`experiments.overrides`
    :raises CollabInferError: file missing, not YAML, or a field invalid (named)
    """
    from experiments.overrides import apply_overrides

    if isinstance(source, dict):
        cfg = _validate(apply_overrides(source, overrides), "<dict>")
    else:
        import yaml

        path = Path(source)
        if not path.exists():
            raise CollabInferError(f"sweep config {path} does not exist")
        if path.is_dir():
            raise CollabInferError(
                f"sweep config {path} is a directory: pass a YAML file (e.g. "
                "experiments/configs/fig3.yaml)"
            )
        if not path.is_file():
            raise CollabInferError(
                f"sweep config {path} is not a regular file (a device, pipe or socket): pass "
                "a YAML file"
            )
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CollabInferError(f"sweep config {path} is not valid YAML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise CollabInferError(f"sweep config {path} is not UTF-8 text: {exc}") from None
        except OSError as exc:
            raise CollabInferError(f"cannot read sweep config {path}: {exc.strerror}") from None
        if not isinstance(data, dict):
            raise CollabInferError(f"sweep config {path} must be a YAML mapping at top level")
        cfg = _validate(apply_overrides(data, overrides), str(path))
    if quick and overrides:
        dumped = cfg.quick_variant().model_dump(mode="json")
        return _validate(apply_overrides(dumped, overrides), f"{source} (quick, --set)")
    return cfg.quick_variant() if quick else cfg


def stable_hash(obj: Any) -> str:
    """16 hex digits of the SHA-256 of ``obj``'s canonical JSON."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RowSpec:
    """One result row to compute (every parameter that defines it).

    ``k`` is None for ``full`` and image schemes; ``quality`` only for image schemes.
    """

    config_name: str
    model: str
    model_split: str
    model_id: str
    images_id: str
    dataset: str
    split: str
    n_images: int | None
    dataset_seed: int
    prompt: str | None
    max_new_tokens: int
    num_beams: int
    scheme: str
    kind: str
    reducer: str | None
    reducer_params: dict[str, Any] = field(default_factory=dict)
    k: int | None = None
    number_format: str | None = None
    index_coding: str | None = None
    subset_mode: str | None = None
    fill: str | None = None
    image_codec: str | None = None
    quality: int | None = None
    channel: str = "ideal"
    channel_label: str = "ideal"
    channel_params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    mtu: int = 1400
    #: channel-use budget per image (None: the scheme's own knobs are swept)
    budget_channel_uses: float | None = None
    #: the knobs a budget row chooses from: {"k", "number_format", "index_coding"} lists
    #: (tokens) or {"quality"} (images); analog rows choose channel_params.bandwidth_ratio
    budget_candidates: dict[str, Any] = field(default_factory=dict)
    #: outputs of fitting (experiments.budget.fit_row): "fits" or why not, the chosen
    #: candidate's planned uses, and the hash of the budget row it was fitted from
    budget_fit: str | None = None
    budget_planned_uses: float | None = None
    fitted_from: str | None = None
    #: "caption" or "vqa" (in the row key only for vqa, so caption rows keep their hashes)
    task: str = "caption"
    #: ModelSpec.hash_fields(): device_map / options when set (in the key only when set)
    model_load: dict[str, Any] = field(default_factory=dict)
    #: latency deadline in s (experiments.deadline; in the key only when set)
    deadline_s: float | None = None

    _OUTPUTS = ("budget_fit", "budget_planned_uses", "fitted_from")
    _BUDGET = ("budget_channel_uses", "budget_candidates")

    def key(self) -> dict[str, Any]:
        """Everything that determines the row's result (config name and labels excluded,
        so two configs asking for the same row share it; budget fields only when a
        budget is set, so rows without one keep their hashes)."""
        skip = {"config_name", "channel_label", *self._OUTPUTS}
        if self.budget_channel_uses is None:
            skip |= set(self._BUDGET)
        if self.task == "caption":
            skip.add("task")
        if not self.model_load:
            skip.add("model_load")
        if self.deadline_s is None:
            skip.add("deadline_s")
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    @property
    def row_hash(self) -> str:
        """The hash of :meth:`key`; a row fitted to a budget keeps its budget row's hash
        (the chosen K / format / quality / ratio are results, not inputs)."""
        return self.fitted_from or stable_hash(self.key())


def expand_rows(
    cfg: SweepConfig,
    n_tokens: int,
    *,
    model_id: str = "",
    images_id: str = "",
    analog_channels: tuple[str, ...] = ("analog",),
) -> list[RowSpec]:
    """All rows of ``cfg`` for a model with ``n_tokens`` visual tokens, in a stable order.

    ``model_id`` (see :func:`experiments.runner.model_fingerprint`) enters every row
    hash, so rows of another checkpoint (e.g. random-init vs trained weights) are never
    taken for finished ones; ``images_id`` (``ImageSet.fingerprint()``) does the same
    for the images and references.

    Over an analog channel the vector values are not digitised: one row per budget with
    ``number_format="analog"`` replaces the number-format / index-coding product.

    With ``cfg.budget`` (channel uses per image) each budget value is one more swept
    dimension, and a scheme's own knobs become the candidates that fill it (resolved at
    run time from the real bytes, :func:`experiments.budget.fit_row`): one row per
    digital token scheme (K x number format x index coding candidates), per image codec
    (quality candidates) and, over analog, per K (the bandwidth ratio is chosen).
    """
    common = dict(
        config_name=cfg.name,
        model=cfg.model.name,
        model_split=cfg.model.split,
        model_load=cfg.model.hash_fields(),
        model_id=model_id,
        images_id=images_id,
        dataset=cfg.dataset.name,
        split=cfg.dataset.split,
        n_images=cfg.dataset.n,
        dataset_seed=cfg.dataset.seed,
        prompt=cfg.generation.prompt,
        task=cfg.task,
        max_new_tokens=cfg.generation.max_new_tokens,
        num_beams=cfg.generation.num_beams,
        mtu=cfg.mtu,
    )
    rows: list[RowSpec] = []
    budgets = cfg.budget.channel_uses if cfg.budget is not None else [None]
    for scheme in cfg.schemes:
        for ch in cfg.channels:
            if scheme.channels is not None and ch.display not in scheme.channels:
                continue
            analog = ch.name in analog_channels
            for params, seed, b in itertools.product(ch.settings(), cfg.seeds, budgets):
                chan = dict(channel=ch.name, channel_label=ch.display, channel_params=params)
                base = dict(**common, **chan, seed=seed, scheme=scheme.name)
                if b is not None:
                    base["budget_channel_uses"] = float(b)
                if isinstance(scheme, ImageSchemeSpec):
                    if analog:
                        raise CollabInferError(
                            f"config {cfg.name}: image scheme {scheme.name!r} cannot use the "
                            f"analog channel {ch.name!r} (it carries token vectors only)"
                        )
                    image = dict(kind="image", reducer=None, image_codec=scheme.codec)
                    if b is not None:  # the quality is chosen to fill the budget
                        cands = {"quality": sorted(scheme.qualities)}
                        rows.append(RowSpec(**base, **image, budget_candidates=cands))
                        continue
                    rows += [RowSpec(**base, **image, quality=q) for q in scheme.qualities]
                    continue
                ks = [None] if scheme.budgets is None else scheme.budgets.resolve(n_tokens)
                tokens = dict(
                    kind="tokens",
                    reducer=scheme.reducer,
                    reducer_params=dict(scheme.reducer_params),
                    subset_mode=scheme.subset_mode,
                    fill=scheme.fill,
                )
                if b is not None and not analog:  # K, format and coding fill the budget
                    cands = {
                        "k": ks,
                        "number_format": list(scheme.number_formats),
                        "index_coding": list(scheme.index_coding),
                    }
                    rows.append(RowSpec(**base, **tokens, budget_candidates=cands))
                    continue
                formats = (
                    [("analog", "side-info")]
                    if analog
                    else list(itertools.product(scheme.number_formats, scheme.index_coding))
                )
                for k, (fmt, coding) in itertools.product(ks, formats):
                    rows.append(
                        RowSpec(**base, **tokens, k=k, number_format=fmt, index_coding=coding)
                    )
    seen: set[str] = set()
    unique = []
    for r in with_deadlines(rows, cfg.deadlines):
        if r.row_hash not in seen:
            seen.add(r.row_hash)
            unique.append(r)
    return unique
