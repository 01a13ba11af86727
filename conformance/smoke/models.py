"""Tiny Qwen3 and Qwen3.5 causal LMs built from a config alone (no weights, no hub).

Why these two: Qwen3 is plain attention; Qwen3.5 interleaves Gated DeltaNet (linear attention) layers with full
attention, a different code path for padding and for the loss. In transformers ≥ 5.2 ``Qwen3_5ForCausalLM``
runs on CPU through its pure-torch DeltaNet fallback. The sizes follow research/ecosystem.md §6 (measured there:
0.7 s and 2.7 s for 30 steps on a compact vocabulary, one thread).
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError

ARCHS = ("qwen3", "qwen3_5")

COMMON = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
              tie_word_embeddings=True, max_position_embeddings=8192)


def arch_for_family(family: str) -> str:
    """The architecture whose tokenizer the family uses; other families train the plain Qwen3 block."""
    return "qwen3_5" if family.startswith("qwen3_5") else "qwen3"


def build(arch: str, vocab_size: int, seed: int = 0) -> Any:
    """A freshly initialised tiny model over ``vocab_size`` ids (deterministic for a seed)."""
    import torch

    torch.manual_seed(seed)
    if arch == "qwen3":
        from transformers import Qwen3Config, Qwen3ForCausalLM

        return Qwen3ForCausalLM(Qwen3Config(vocab_size=vocab_size, num_hidden_layers=2, **COMMON))
    if arch == "qwen3_5":
        try:
            from transformers import Qwen3_5ForCausalLM, Qwen3_5TextConfig
        except ImportError:
            import transformers

            raise UsageError(f"model qwen3_5 needs transformers >= 5.2 (Qwen3_5ForCausalLM); "
                             f"installed: {transformers.__version__}") from None
        config = Qwen3_5TextConfig(vocab_size=vocab_size, num_hidden_layers=4, linear_num_key_heads=2,
                                   linear_num_value_heads=4, linear_key_head_dim=16, linear_value_head_dim=16,
                                   **COMMON)
        return Qwen3_5ForCausalLM(config)
    raise UsageError(f"unknown model {arch!r}; known: {', '.join(ARCHS)}")


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
