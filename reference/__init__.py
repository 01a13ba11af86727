"""The reference SFT loss mask: render → segment → policy → mask, template-agnostic.

    from lossmask.reference import compute, segment
    result = compute(tokenizer, tokenizer.chat_template, messages, tools, {"enable_thinking": True})
    result.input_ids, result.loss_mask, result.straddles

``segment`` returns the policy-independent :class:`~reference.mask.Segmentation`; call ``.mask(profile)`` on it
for each profile you need (``reference.policy.PROFILES``). For dataset preparation, ``labels`` (one conversation)
and ``labels_batch`` (many, one tokenizer call) return ``input_ids`` and ``labels`` (-100 where not trained);
``LabelsMap(tokenizer)`` is a ``datasets.map(batched=True, num_proc=N)`` function (:mod:`reference.batch`).
"""

from .batch import LabelsMap, labels, labels_batch, segment_batch, segment_stream
from .errors import ConversationError, LossmaskError, SegmentationError, TemplateRefusal
from .mask import MaskResult, Segmentation, compute, segment
from .policy import CANONICAL, PROFILES, Policy, get_profile

__all__ = [
    "CANONICAL", "PROFILES", "ConversationError", "LabelsMap", "LossmaskError", "MaskResult", "Policy",
    "Segmentation", "SegmentationError", "TemplateRefusal", "compute", "get_profile", "labels", "labels_batch",
    "segment", "segment_batch", "segment_stream",
]
