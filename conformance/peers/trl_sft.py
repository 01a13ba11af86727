"""TRL's own SFT data path with ``assistant_only_loss=True``: ``SFTTrainer._prepare_dataset`` on one example.

Why call a private method: the data path (template swap, ``_tokenize``, the "no assistant tokens" check, labels
built at preparation time) lives inside the trainer, and building a trainer needs a model. The method only reads
three attributes of the trainer, which a namespace provides; TRL's code itself is not patched. The example goes in
as an ``IterableDataset`` because an Arrow-backed ``Dataset`` would unify the keys of tool-call argument dicts
(a datasets artifact, not TRL behaviour). Output is TRL's ``labels`` (-100 = not trained).
"""

from __future__ import annotations

import functools
import tempfile
import types
from typing import Any

from ._util import need, version


@functools.cache
def _config() -> Any:
    trl = need("trl", "trl", "TRL")
    return trl.SFTConfig(output_dir=tempfile.mkdtemp(prefix="lossmask-trl-"), assistant_only_loss=True,
                         max_length=None, report_to=[], use_cpu=True, bf16=False)


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    trl = need("trl", "trl", "TRL")
    datasets = need("datasets", "datasets", "TRL (datasets)")
    utils = need("trl.chat_template_utils", "trl", "TRL")
    if utils.has_generation_markers(tokenizer.chat_template):
        chat_template = None
    else:
        try:  # what SFTTrainer.__init__ does when assistant_only_loss is set
            chat_template = utils.get_training_chat_template(tokenizer)
        except ValueError as exc:
            raise NotImplementedError(f"SFTTrainer refuses this template: {exc}") from None
    example: dict[str, Any] = {"messages": messages}
    if tools:
        example["tools"] = tools
    if template_kwargs:
        example["chat_template_kwargs"] = template_kwargs
    dataset = datasets.IterableDataset.from_generator(lambda: iter([example]))
    trainer = types.SimpleNamespace(chat_template=chat_template, completion_only_loss=False, _tokenizer=tokenizer)
    prepared = trl.SFTTrainer._prepare_dataset(trainer, dataset, tokenizer, _config(), False, None, "train")
    row = next(iter(prepared))
    return list(row["input_ids"]), list(row["labels"])


generate.lossmask_name = "trl-sft-assistant-only-loss"  # type: ignore[attr-defined]
generate.lossmask_version = version("trl")  # type: ignore[attr-defined]
generate.lossmask_encoding = "labels"  # type: ignore[attr-defined]
