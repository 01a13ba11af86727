"""``lossmask smoke``: train a tiny model on real masks and prove, from the loss and its gradient, that the mask
does what it claims.

Why a training run on top of the mask comparison: a mask can match the golden and still train wrong once it
becomes labels (shifted twice, -100 on the wrong side, padding supervised, a pre-shifted mask fed to a loss that
shifts again). These checks look at what the optimiser actually sees: which logits receive gradient and which
token each of them is pushed towards.

Modules: :mod:`.batch` (cases → generator → padded labels), :mod:`.vocab` (compact id remap for CPU),
:mod:`.models` (tiny Qwen3 / Qwen3.5 from config), :mod:`.checks` (one forward/backward, the assertions),
:mod:`.train` (overfit a fixed batch), :mod:`.savings` (per-message vs full-render token counts),
:mod:`.run` (one family end to end), :mod:`.report` (terminal table and JSON). Only :mod:`.models`,
:mod:`.checks`, :mod:`.train` and :mod:`.run` import torch.
"""
