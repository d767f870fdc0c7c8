"""Tasks a sweep can score: ``caption`` (COCO caption metrics against reference captions)
and ``vqa`` (VQA metrics against human answers, the decoder prompted with a question).

A VQA sample is one question about one image (:class:`collab_infer.datasets.Sample` with
``question`` set and the answers in ``references``). The decoder prompt is the model
family's VQA template (``prompts.json`` in this package, keyed by the adapter name, e.g.
``"answer en {question}"`` for PaliGemma) with the question filled in; a sweep's
``generation.prompt`` replaces the template (it must contain ``{question}``).

>>> prompt_template("vqa", "paligemma", None)
'answer en {question}'
>>> fill_prompt("answer en {question}", "what color is the cat?")
'answer en what color is the cat?'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any, Literal

from collab_infer.errors import CollabInferError

__all__ = [
    "TASKS",
    "Task",
    "family_of",
    "fill_prompt",
    "generate_prompted",
    "metric_names",
    "primary_metric",
    "prompt_template",
    "score_task",
]

Task = Literal["caption", "vqa"]
TASKS = ("caption", "vqa")

#: the metric a report plots per task, and per VQA dataset where its benchmark differs
_PRIMARY = {"caption": "bleu4", "vqa": "vqa_accuracy"}
_PRIMARY_VQA = {"gqa": "exact_match", "docvqa": "anls"}


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise CollabInferError(f"task must be one of {', '.join(TASKS)}, got {task!r}")


@functools.cache
def _prompts() -> dict[str, dict[str, str | None]]:
    text = resources.files(__package__).joinpath("prompts.json").read_text(encoding="utf-8")
    table = json.loads(text)
    table.pop("_doc", None)
    return table


def family_of(model: Any) -> str:
    """The model's family for the prompt table: its adapter name (``"paligemma"`` for
    the built-in default model, which is a PaliGemma-architecture captioner)."""
    adapter = getattr(model, "adapter", None)
    if isinstance(adapter, str):
        return adapter
    return str(model.describe().get("adapter") or "*")


def prompt_template(task: str, family: str, prompt: str | None) -> str | None:
    """The decoder prompt (caption) or prompt template (vqa) of a sweep.

    :param family: see :func:`family_of`
    :param prompt: the sweep's ``generation.prompt`` (None: the family's)
    :return: for ``caption`` ``prompt`` itself (None: the model's own default); for
        ``vqa`` a template containing ``{question}``
    :raises CollabInferError: a VQA prompt without ``{question}``
    """
    _check_task(task)
    if task == "caption":
        return prompt
    table = _prompts()
    template = prompt if prompt is not None else table.get(family, table["*"])["vqa"]
    if "{question}" not in template:
        raise CollabInferError(
            f"generation.prompt {template!r} has no '{{question}}': a VQA prompt is a "
            "template the question is put into, e.g. 'answer en {question}'"
        )
    return template


def fill_prompt(template: str | None, question: str | None) -> str | None:
    """The prompt of one sample: ``template`` with ``{question}`` replaced (no other
    braces are interpreted); ``template`` itself when it has no ``{question}``."""
    if template is None or "{question}" not in template:
        return template
    if not question:
        raise CollabInferError("a VQA sample has no question; VQA datasets must give one each")
    return template.replace("{question}", question)


def generate_prompted(
    model: Any,
    tokens: Sequence[Any],
    prompts: Sequence[str | None],
    *,
    max_new_tokens: int,
    num_beams: int,
    positions: Sequence[Any] | None = None,
) -> list[str]:
    """``model.generate`` for samples that may have different prompts: one call per
    distinct prompt (in first-seen order), outputs in input order. With one prompt this
    is exactly one ``generate`` call on the whole batch.

    :param positions: per sample ``None`` or its tokens' grid positions (a dropped
        subset's kept positions); passed on as ``generate(..., positions=)`` for a group
        only when one of its samples has some (so models without the keyword still work
        on full-length sequences)."""
    if len(tokens) != len(prompts):
        raise ValueError(f"tokens ({len(tokens)}) and prompts ({len(prompts)}) must pair up")
    if positions is not None and len(positions) != len(tokens):
        raise ValueError(
            f"positions ({len(positions)}) must hold one entry per token sequence ({len(tokens)})"
        )
    groups: dict[str | None, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(p, []).append(i)
    out: list[str] = [""] * len(tokens)
    for prompt, idx in groups.items():
        pos = [None] * len(idx) if positions is None else [positions[i] for i in idx]
        extra = {"positions": pos} if any(p is not None for p in pos) else {}
        caps = model.generate(
            [tokens[i] for i in idx],
            prompt,
            max_new_tokens=max_new_tokens,
            num_beams=num_beams,
            **extra,
        )
        for i, c in zip(idx, caps, strict=True):
            out[i] = c
    return out


def metric_names(task: str) -> tuple[str, ...]:
    """The score columns a row of ``task`` has (each with ``_lo`` / ``_hi``)."""
    _check_task(task)
    if task == "caption":
        from collab_infer.metrics import METRIC_NAMES

        return METRIC_NAMES
    from collab_infer.metrics.vqa import VQA_METRIC_NAMES

    return VQA_METRIC_NAMES


def primary_metric(task: str, dataset: str = "") -> str:
    """The metric reports plot for ``task`` on ``dataset``: ``bleu4`` for captions (the
    paper's), VQAv2 accuracy for VQA, exact match on ``gqa``, ANLS on ``docvqa``."""
    _check_task(task)
    if task == "vqa":
        return _PRIMARY_VQA.get(dataset, _PRIMARY["vqa"])
    return _PRIMARY[task]


def score_task(
    task: str,
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    tokenizer: str = "ptb",
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Scores and bootstrap intervals of one row.

    :param hyps: one generated caption / answer per sample
    :param refs: per sample, the reference captions (caption) or human answers (vqa)
    :param tokenizer: caption tokenizer, ``"ptb"`` or ``"corenlp"`` (caption only)
    :return: ``(scores, ci)`` keyed by :func:`metric_names`
    """
    _check_task(task)
    if task == "caption":
        from collab_infer.metrics import score_with_ci

        return score_with_ci(hyps, refs, n_boot=n_boot, alpha=alpha, seed=seed, tokenizer=tokenizer)
    from collab_infer.metrics.vqa import score_vqa

    return score_vqa(hyps, refs, n_boot=n_boot, alpha=alpha, seed=seed)
