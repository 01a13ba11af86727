"""LLaMA-Factory's supervised data path (v0 engine): OpenAI-format converter + ``SupervisedDatasetProcessor``.

LLaMA-Factory renders with its own Python templates chosen by name (``template: qwen3``), not the model's Jinja;
the adapter recognises the bundled template and picks the name LLaMA-Factory registers for that model
(``extras/constants.py``). The case goes through LLaMA-Factory's own ``OpenAIDatasetConverter`` (tool calls become
a ``function`` turn, consecutive tool results merge, the leading system becomes ``system``) and
``SupervisedDatasetProcessor.preprocess_dataset``. LLaMA-Factory 0.9.5's OpenAI converter also writes a
system prompt ``detailed thinking off`` into every conversation without tools (a Nemotron/Ling convention), so a
second generator, ``generate_sharegpt``, feeds the same conversation through the ShareGPT converter (the adapter
does the OpenAI-to-ShareGPT mapping the OpenAI converter does: tool calls as a ``function_call`` turn holding the
JSON list of calls, consecutive tool results joined) to show LLaMA-Factory's masks without that injection. LLaMA-Factory reads reasoning only inline, so
``reasoning_content`` is written into the content as ``<think>\\n...\\n</think>\\n\\n`` first (its documented data
format). ``get_template_and_fix_tokenizer`` mutates the tokenizer (eos, stop words), so it gets a private copy.

Output is ``labels``. For ``efficient_eos`` templates LLaMA-Factory's label at the first token after a target is
``eos_token_id`` although the input there is another token; the adapter reports the *trained* token (the label)
at such positions, so the runner shows it as a token-stream difference instead of rejecting the output.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ._util import need, version
from .identify import require_name

#: bundled template -> LLaMA-Factory template name (as registered for those models in llamafactory.extras.constants)
TEMPLATE_NAMES: dict[Any, str] = {
    "qwen2_5": "qwen",
    "qwen3": "qwen3",
    ("qwen3", "Qwen3-0.6B.llamacpp-older-rev"): "qwen3",
    ("qwen3", "Qwen3-4B-Thinking-2507"): "qwen3",
    ("qwen3", "Qwen3-4B-Instruct-2507"): "qwen3_nothink",
    ("qwen3_5", "*"): "qwen3_5",
    ("qwen3_5", "Qwen3.6-35B-A3B"): "qwen3_6",
    ("llama3", "*"): "llama3",
    "deepseek_v3": "deepseek3",
    ("deepseek_v3", "DeepSeek-R1-Distill-Qwen-32B"): "deepseekr1",
    ("gpt_oss", "*"): "gpt_oss",
    ("mistral_nemo", "*"): "ministral",
}
SUPPORTED_KWARGS = {"enable_thinking"}
IGNORE_INDEX = -100


def _inline_reasoning(message: dict) -> dict:
    reasoning = message.get("reasoning_content")
    if message.get("role") != "assistant" or not reasoning:
        return message
    out = {k: v for k, v in message.items() if k != "reasoning_content"}
    out["content"] = f"<think>\n{reasoning}\n</think>\n\n{message.get('content') or ''}"
    return out


#: (tokenizer files, chat template, vocabulary size, LLaMA-Factory template, enable_thinking) -> prepared triple
_PREPARED: dict[tuple, tuple[Any, Any, Any]] = {}


def _prepared(tokenizer: Any, name: str, enable_thinking: bool) -> tuple[Any, Any, Any]:
    """LLaMA-Factory's template and its fixed private tokenizer, once per tokenizer files, template and option.

    Why not once per call: the harness hands every case a fresh tokenizer object, and deep-copying a 150k-entry
    tokenizer and fixing it costs about a second a case (LLaMA-Factory itself does it once per dataset). The
    key is what the tokenizer was loaded from, not the object's ``id``.
    """
    key = (getattr(tokenizer, "name_or_path", ""), tokenizer.chat_template, len(tokenizer), name, enable_thinking)
    if key not in _PREPARED:
        data = need("llamafactory.data", "llamafactory", "LLaMA-Factory")
        hparams = need("llamafactory.hparams", "llamafactory", "LLaMA-Factory")
        args = hparams.DataArguments(template=name, cutoff_len=1_000_000, enable_thinking=enable_thinking)
        tok = copy.deepcopy(tokenizer)  # get_template_and_fix_tokenizer mutates it (eos, stop words)
        _PREPARED[key] = (tok, data.get_template_and_fix_tokenizer(tok, args), args)
    return _PREPARED[key]


def _to_sharegpt(messages: list[dict]) -> list[dict]:
    """OpenAI messages as ShareGPT turns, mapped the way LLaMA-Factory's OpenAI converter maps them."""
    out: list[dict] = []
    pending: list[str] = []
    for message in messages:
        role, content = message.get("role"), message.get("content") or ""
        if role == "tool":
            pending.append(content)
            continue
        if pending:
            out.append({"from": "observation", "value": "\n</tool_response>\n<tool_response>\n".join(pending)})
            pending = []
        if role == "assistant" and message.get("tool_calls"):
            calls = [call["function"] for call in message["tool_calls"]]
            out.append({"from": "function_call", "value": json.dumps(calls, ensure_ascii=False)})
        else:
            out.append({"from": {"user": "human", "assistant": "gpt"}.get(role, role), "value": content})
    if pending:
        out.append({"from": "observation", "value": "\n</tool_response>\n<tool_response>\n".join(pending)})
    return out


def _run(formatting: str, tokenizer: Any, messages: list[dict], tools: list[dict] | None,
         template_kwargs: dict[str, Any]) -> tuple[list[int], list[int]]:
    converter_mod = need("llamafactory.data.converter", "llamafactory", "LLaMA-Factory")
    parser = need("llamafactory.data.parser", "llamafactory", "LLaMA-Factory")
    supervised = need("llamafactory.data.processor.supervised", "llamafactory", "LLaMA-Factory")
    _, _, name = require_name(tokenizer, TEMPLATE_NAMES, "LLaMA-Factory")
    unknown = set(template_kwargs) - SUPPORTED_KWARGS
    if unknown:
        raise NotImplementedError(f"LLaMA-Factory has no option for template kwargs {sorted(unknown)}")
    tok, template, args = _prepared(tokenizer, name, bool(template_kwargs.get("enable_thinking", True)))
    inline = [_inline_reasoning(m) for m in messages]
    if formatting == "openai":
        attr = parser.DatasetAttr(load_from="file", dataset_name="lossmask-case", formatting="openai",
                                  messages="messages", tools="tools", role_tag="role", content_tag="content",
                                  user_tag="user", assistant_tag="assistant", observation_tag="tool",
                                  function_tag="function_call", system_tag="system")
        example = {"messages": inline, "tools": tools or ""}
    else:
        attr = parser.DatasetAttr(load_from="file", dataset_name="lossmask-case", formatting="sharegpt",
                                  messages="conversations", tools="tools")
        example = {"conversations": _to_sharegpt(inline), "tools": json.dumps(tools, ensure_ascii=False) if tools else ""}
    converted = converter_mod.get_dataset_converter(formatting, attr, args)(example)
    processor = supervised.SupervisedDatasetProcessor(template=template, tokenizer=tok, processor=None,
                                                      data_args=args)
    try:
        out = processor.preprocess_dataset({key: [value] for key, value in converted.items()})
    except ValueError as exc:
        if "Processor was not found" in str(exc):  # multimodal templates (qwen3_5...) need the model's processor
            raise NotImplementedError(f"LLaMA-Factory's {name!r} template needs the model's multimodal processor; "
                                      "only a tokenizer is available") from None
        raise
    if not out.get("input_ids"):
        raise NotImplementedError("LLaMA-Factory drops this example (roles must alternate user/assistant and end "
                                  "on an assistant turn)")
    ids, labels = out["input_ids"][0], out["labels"][0]
    # efficient_eos: a label that differs from its input token is what the model is trained to emit there
    trained = [lab if lab not in (IGNORE_INDEX, t) else t for t, lab in zip(ids, labels)]
    return trained, labels


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    """Through LLaMA-Factory's OpenAI-format converter (``formatting: openai``)."""
    return _run("openai", tokenizer, messages, tools, template_kwargs)


def generate_sharegpt(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
                      **template_kwargs: Any) -> tuple[list[int], list[int]]:
    """Through LLaMA-Factory's ShareGPT converter (``formatting: sharegpt``)."""
    return _run("sharegpt", tokenizer, messages, tools, template_kwargs)


for _fn, _name in ((generate, "llamafactory-openai"), (generate_sharegpt, "llamafactory-sharegpt")):
    _fn.lossmask_name = _name  # type: ignore[attr-defined]
    _fn.lossmask_version = version("llamafactory")  # type: ignore[attr-defined]
    _fn.lossmask_encoding = "labels"  # type: ignore[attr-defined]
