"""axolotl's ``type: chat_template`` prompt strategy with the tokenizer's own template (``tokenizer_default``).

``chat_template.load(tokenizer, cfg, ds_cfg)`` returns the strategy axolotl's dataset pipeline maps over rows;
``tokenize_prompt({"messages", "tools"})`` gives ``input_ids`` and ``labels`` (-100 = not trained). Defaults are
axolotl's: train assistant turns, ``train_on_eos: turn`` with ``eot_tokens`` = the tokenizer's eos. Template
kwargs go through ``cfg.chat_template_kwargs``, as in an axolotl YAML. axolotl finds each turn by diffing prefix
renders against a dummy message, so templates that re-render history differ from the full render.
"""

from __future__ import annotations

from typing import Any

from ._util import need, version


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    chat_template = need("axolotl.prompt_strategies.chat_template", "axolotl", "axolotl")
    dict_mod = need("axolotl.utils.dict", "axolotl", "axolotl")
    cfg = dict_mod.DictDefault({"train_on_inputs": False, "sequence_len": 1_000_000,
                                "chat_template_kwargs": dict(template_kwargs)})
    ds_cfg = dict_mod.DictDefault({"type": "chat_template", "chat_template": "tokenizer_default",
                                   "field_messages": "messages"})
    strategy = chat_template.load(tokenizer, cfg, ds_cfg)
    row: dict[str, Any] = {"messages": [dict(m) for m in messages]}
    if tools:
        row["tools"] = tools
    out = strategy.tokenize_prompt(row)
    return [int(t) for t in out["input_ids"]], [int(v) for v in out["labels"]]


generate.lossmask_name = "axolotl-chat-template"  # type: ignore[attr-defined]
generate.lossmask_version = version("axolotl")  # type: ignore[attr-defined]
generate.lossmask_encoding = "labels"  # type: ignore[attr-defined]
