"""OpenRLHF's ``SFTDataset(..., multiturn=True)``: prefix renders per assistant turn, a pre-shifted loss mask.

OpenRLHF takes a Hugging Face ``datasets.Dataset`` whose ``input_key`` column holds the whole trajectory, and a
``strategy`` whose ``args.data`` carries the data options (a namespace stands in for the DeepSpeed strategy; the
dataset reads nothing else from it). ``SFTDataset`` renders without tools and without template kwargs, so cases
with either are declined. The returned ``loss_mask`` is pre-shifted (position p trains token p+1): encoding
``shifted``. OpenRLHF strips the final newline and appends ``" " + eos`` when the text does not end with eos, so
token streams differ from the render for templates whose last token is not eos.
"""

from __future__ import annotations

import types
from typing import Any

from ._util import need, plain, version


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    module = need("openrlhf.datasets.sft_dataset", "openrlhf", "OpenRLHF")
    datasets = need("datasets", "datasets", "OpenRLHF (datasets)")
    if tools:
        raise NotImplementedError("OpenRLHF's SFTDataset renders without tools")
    if template_kwargs:
        raise NotImplementedError(f"OpenRLHF's SFTDataset passes no template kwargs ({sorted(template_kwargs)})")
    data = types.SimpleNamespace(input_key="messages", output_key=None, apply_chat_template=True,
                                 tokenizer_chat_template=None)
    strategy = types.SimpleNamespace(args=types.SimpleNamespace(data=data))
    dataset = datasets.Dataset.from_list([{"messages": messages}])
    sft = module.SFTDataset(dataset, tokenizer, 1_000_000, strategy, num_processors=1, multiturn=True)
    if len(sft) == 0:
        raise NotImplementedError("OpenRLHF's SFTDataset filters this example out (empty prompt or response)")
    input_ids, _, loss_mask = sft[0]
    return plain(input_ids), [int(v) for v in plain(loss_mask)]


generate.lossmask_name = "openrlhf-sft-multiturn"  # type: ignore[attr-defined]
generate.lossmask_version = version("openrlhf")  # type: ignore[attr-defined]
generate.lossmask_encoding = "shifted"  # type: ignore[attr-defined]
