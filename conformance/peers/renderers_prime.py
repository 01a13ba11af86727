"""PrimeIntellect ``renderers`` (the prime-rl SFT path): ``build_training_sample(renderer, messages, tools=...)``.

renderers picks a hand-written Python renderer by model name (``MODEL_RENDERER_MAP``); the generator contract gives
us a tokenizer, so the bundled template is recognised and mapped to the renderer name its models resolve to.
Templates of models renderers does not list fall back to its ``default`` renderer (Jinja via the tokenizer), as
they would for a prime-rl user. ``role_to_mask`` is assistant-only (prime-rl's SFT default); renderers ANDs it
with its own ``sampled_mask`` (tokens the model would sample: no role headers, no separators).
"""

from __future__ import annotations

from typing import Any

from ._util import need, plain, version
from .identify import require_name

#: bundled template -> renderers' config name (from renderers.base.MODEL_RENDERER_MAP for the family's models).
RENDERER_NAMES: dict[Any, str] = {
    ("qwen3", "*"): "qwen3",
    ("qwen3", "Qwen3-Coder"): "default",
    ("qwen3_5", "*"): "qwen3.5",
    ("qwen3_5", "Qwen3.6-35B-A3B"): "qwen3.6",
    "deepseek_v3": "deepseek-v3",
    ("deepseek_v3", "DeepSeek-V3.1"): "default",
    ("deepseek_v3", "DeepSeek-R1-Distill-Qwen-32B"): "default",
    ("deepseek_v4", "*"): "deepseek-v4",
    ("gpt_oss", "*"): "gpt-oss",
    ("llama3", "*"): "llama-3",
    ("qwen2_5", "*"): "default",
    ("mistral_nemo", "*"): "default",
}


def _is_assistant(message: Any) -> bool:
    return message.get("role") == "assistant"


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    renderers = need("renderers", "renderers", "PrimeIntellect renderers")
    _, _, name = require_name(tokenizer, RENDERER_NAMES, "renderers")
    config = renderers.config_from_name(name)
    try:
        renderer = renderers.create_renderer(tokenizer, config, chat_template_kwargs=template_kwargs or None)
    except (TypeError, ValueError) as exc:
        raise NotImplementedError(f"renderers {name!r} does not accept {sorted(template_kwargs)}: {exc}") from None
    sample = renderers.build_training_sample(renderer, messages, role_to_mask=_is_assistant, tools=tools)
    return plain(sample.token_ids), plain(sample.loss_mask)


generate.lossmask_name = "renderers-build-training-sample"  # type: ignore[attr-defined]
generate.lossmask_version = version("renderers")  # type: ignore[attr-defined]
generate.lossmask_encoding = "mask"  # type: ignore[attr-defined]
