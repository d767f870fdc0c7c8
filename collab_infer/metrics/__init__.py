"""Caption metrics: COCO-caption BLEU-1..4, CIDEr-D, ROUGE-L (pure-Python
re-implementations of pycocoevalcap's scorers on its PTB tokens, tokenised in pure Python
or, with ``tokenizer="corenlp"``, by its CoreNLP jar), sacrebleu BLEU and bootstrap
confidence intervals over images; VQA metrics (VQAv2 accuracy, exact match, ANLS).

>>> from collab_infer.metrics import corpus_bleu
>>> corpus_bleu(["a red circle"], [["a red circle", "a circle"]])["bleu3"] > 0.99
True
"""

from collab_infer.metrics.bleu import (
    TOKENIZERS,
    Tokenizer,
    bleu_from_stats,
    bleu_stats,
    corpus_bleu,
)
from collab_infer.metrics.bootstrap import bootstrap_ci, paired_bootstrap_diff
from collab_infer.metrics.cider import cider_d, cider_d_per_image
from collab_infer.metrics.rouge import rouge_l, rouge_l_per_image
from collab_infer.metrics.sacre import sacrebleu_bleu
from collab_infer.metrics.score import METRIC_NAMES, score_all, score_with_ci
from collab_infer.metrics.tokenize import tokenize, tokenize_caption, tokenize_file
from collab_infer.metrics.vqa import (
    VQA_METRIC_NAMES,
    anls,
    exact_match,
    normalize_answer,
    score_vqa,
    vqa_accuracy,
)

__all__ = [
    "METRIC_NAMES",
    "TOKENIZERS",
    "Tokenizer",
    "VQA_METRIC_NAMES",
    "anls",
    "exact_match",
    "normalize_answer",
    "score_vqa",
    "vqa_accuracy",
    "bleu_from_stats",
    "bleu_stats",
    "bootstrap_ci",
    "cider_d",
    "cider_d_per_image",
    "corpus_bleu",
    "paired_bootstrap_diff",
    "rouge_l",
    "rouge_l_per_image",
    "sacrebleu_bleu",
    "score_all",
    "score_with_ci",
    "tokenize",
    "tokenize_caption",
    "tokenize_file",
]
