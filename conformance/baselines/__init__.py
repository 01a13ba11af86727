"""Comparison generators implemented here, not taken from a framework: the benchmark's per-message baseline.

They follow the simple generator contract ``f(tokenizer, messages, tools=None, **template_kwargs) ->
(input_ids, loss_mask)`` so ``lossmask check conformance/baselines/per_message.py:generate`` runs them like any
third-party generator.
"""
