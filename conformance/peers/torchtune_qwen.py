"""torchtune's SFT sample path for Qwen2.5: ``OpenAIToMessages`` + ``Qwen2_5Tokenizer`` inside ``SFTTransform``.

torchtune (0.6.1) does not use Jinja: its Qwen2.5 tokenizer writes ChatML itself from ``Message`` objects and
builds from ``vocab.json`` + ``merges.txt`` paths, which the adapter writes from the bundled ``tokenizer.json``.
Only the Qwen2.5 family has a torchtune builder in 0.6.1, so other templates are declined. ``OpenAIToMessages``
reads only ``role`` and ``content``: tool calls, tool messages and tools have no representation and are declined;
``reasoning_content`` is written inline as ``<think>...</think>`` (torchtune has no reasoning field). Output is
``labels`` (-100 where ``mask`` is True; SFTTransform does not shift, the recipe does).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from typing import Any

from ._util import need, version
from .identify import require_name


@functools.lru_cache(maxsize=4)
def _files(tokenizer_id: int, tokenizer: Any) -> tuple[str, str]:
    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    folder = tempfile.mkdtemp(prefix="lossmask-torchtune-")
    vocab, merges = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    with open(vocab, "w", encoding="utf-8") as fh:
        json.dump(model["vocab"], fh, ensure_ascii=False)
    with open(merges, "w", encoding="utf-8") as fh:
        fh.write("#version: 0.2\n")
        for merge in model["merges"]:
            fh.write((" ".join(merge) if isinstance(merge, list) else merge) + "\n")
    return vocab, merges


@functools.lru_cache(maxsize=4)
def _transform(tokenizer_id: int, tokenizer: Any) -> Any:
    qwen = need("torchtune.models.qwen2_5", "torchtune", "torchtune")
    data = need("torchtune.data", "torchtune", "torchtune")
    sft = need("torchtune.datasets._sft", "torchtune", "torchtune")
    vocab, merges = _files(tokenizer_id, tokenizer)
    return sft.SFTTransform(message_transform=data.OpenAIToMessages(),
                            model_transform=qwen.qwen2_5_tokenizer(vocab, merges))


def _plain_message(message: dict) -> dict:
    content = message.get("content") or ""
    if message.get("role") == "assistant" and message.get("reasoning_content"):
        content = f"<think>\n{message['reasoning_content']}\n</think>\n\n{content}"
    return {"role": message["role"], "content": content}


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    require_name(tokenizer, {"qwen2_5": "qwen2_5"}, "torchtune 0.6 (Qwen2.5 builder only)")
    if tools or any(m.get("tool_calls") or m.get("role") == "tool" for m in messages):
        raise NotImplementedError("torchtune's OpenAIToMessages has no tool calls or tool messages")
    if template_kwargs:
        raise NotImplementedError(f"torchtune's tokenizer takes no template kwargs ({sorted(template_kwargs)})")
    out = _transform(id(tokenizer), tokenizer)({"messages": [_plain_message(m) for m in messages]})
    return [int(t) for t in out["tokens"]], [int(v) for v in out["labels"]]


generate.lossmask_name = "torchtune-qwen2_5"  # type: ignore[attr-defined]
generate.lossmask_version = version("torchtune")  # type: ignore[attr-defined]
generate.lossmask_encoding = "labels"  # type: ignore[attr-defined]
