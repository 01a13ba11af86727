"""Adapters that run real SFT frameworks' loss-mask code as lossmask generators.

Each module wraps one framework (installed from PyPI in its own nox venv, see the ``peers`` session) and exposes
``generate(tokenizer, messages, tools=None, **template_kwargs)`` with the generator contract: it converts our case
into the framework's input form, calls the framework's own code unpatched, and returns its output in the
framework's own encoding (``lossmask_encoding``: labels, pre-shifted, inverted...) for the runner to normalise.
A case the framework cannot express raises ``NotImplementedError`` (verdict ``unsupported``). Importing an adapter
never imports its framework; calling it without the framework installed raises ``NotImplementedError`` naming
the missing package. ``report`` turns ``peers/results/*.json`` into PEERS.md.
"""

#: adapter module -> (display name, distribution whose version is reported)
ADAPTERS = {
    "hf_assistant_mask": ("transformers assistant mask (TRL training templates)", "transformers"),
    "trl_sft": ("TRL SFTTrainer assistant_only_loss", "trl"),
    "llamafactory_sft": ("LLaMA-Factory supervised (v0 templates)", "llamafactory"),
    "verl_sft": ("verl MultiTurnSFTDataset", "verl"),
    "openrlhf_sft": ("OpenRLHF SFTDataset (multiturn)", "openrlhf"),
    "renderers_prime": ("PrimeIntellect renderers build_training_sample", "renderers"),
    "torchtune_qwen": ("torchtune Qwen tokenize_messages", "torchtune"),
    "axolotl_chat": ("axolotl chat_template strategy", "axolotl"),
    "slime_mask": ("slime MultiTurnLossMaskGenerator", "slime"),
}
