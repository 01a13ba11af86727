"""verl's ``MultiTurnSFTDataset`` (the SFT trainer's multi-turn dataset) on a one-row parquet file.

verl reads parquet (columns ``messages``, ``tools``, ``enable_thinking``), renders each message on its own, masks
everything but assistant turns minus the generation prompt, and by default *asserts* that the concatenation equals
the full render (``ignore_input_ids_mismatch: false``); that refusal surfaces as an ``error`` verdict with verl's
message. The parquet round trip is verl's real input path: pyarrow stores tool-call arguments as structs, and verl
converts them back with its own ``convert_nested_value_to_list_recursive``. Output is verl's ``loss_mask``
(token-aligned; the trainer shifts it). ``generate_ignore_mismatch`` sets ``ignore_input_ids_mismatch: true``
(verl's documented escape hatch) to show the masks verl trains on when a user turns the assertion off.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from ._util import need, plain, version


def _run(tokenizer: Any, messages: list[dict], tools: list[dict] | None, template_kwargs: dict[str, Any],
         ignore_mismatch: bool) -> tuple[list[int], list[int]]:
    module = need("verl.utils.dataset.multiturn_sft_dataset", "verl", "verl")
    pandas = need("pandas", "pandas", "verl (pandas)")
    kwargs = dict(template_kwargs)
    row: dict[str, Any] = {"messages": messages}
    if tools:
        row["tools"] = tools
    if "enable_thinking" in kwargs:
        row["enable_thinking"] = bool(kwargs.pop("enable_thinking"))
    config = {"pad_mode": "no_padding", "truncation": "error", "max_length": 1_000_000,
              "apply_chat_template_kwargs": kwargs, "ignore_input_ids_mismatch": ignore_mismatch}
    with tempfile.TemporaryDirectory(prefix="lossmask-verl-") as tmp:
        path = os.path.join(tmp, "case.parquet")
        pandas.DataFrame([row]).to_parquet(path)
        dataset = module.MultiTurnSFTDataset(path, tokenizer, config)
        item = dataset[0]
    return plain(item["input_ids"]), plain(item["loss_mask"])


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    """verl's defaults: a concatenation that differs from the full render raises."""
    return _run(tokenizer, messages, tools, template_kwargs, ignore_mismatch=False)


def generate_ignore_mismatch(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
                             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    """``ignore_input_ids_mismatch: true``: verl trains on the per-message concatenation."""
    return _run(tokenizer, messages, tools, template_kwargs, ignore_mismatch=True)


for _fn, _name in ((generate, "verl-multiturn-sft"), (generate_ignore_mismatch, "verl-multiturn-sft-ignore-mismatch")):
    _fn.lossmask_name = _name  # type: ignore[attr-defined]
    _fn.lossmask_version = version("verl")  # type: ignore[attr-defined]
    _fn.lossmask_encoding = "mask"  # type: ignore[attr-defined]
