#!/usr/bin/env python3
"""Hugging Face transformers' text models, exported to ONNX as their users export them, through
snarkml. Each model is built from a small configuration (vocabulary 100, hidden size 16, two
layers, two heads, 8 tokens; random weights, seed 0: what `hf-internal-testing/tiny-random-*`
checkpoints are), exported by torch's TorchScript exporter (opset 17) with its token ids and,
where it takes them, its attention mask (padding at the end of each sequence) and token type
ids (int64 inputs, all of them), compiled on 16
calibration sequences, run on 8 held-out sequences against onnxruntime, the last one mocked.
Prints one line per model: compile time, scale, k, rows, mock, and the error
Σ|snarkml − onnxruntime| / Σ|onnxruntime| of the logits (compile's own measure). Compiles with
--allow-error and says where calibration missed the 1 % target.

transformers writes its attention masks differently from version to version (4.x: `(1 −
mask)·min` or `Where(bool(1 − mask), min, 1 − mask)`; 5.x: `Where(keep, 0, −inf)` of a mask
built with And), so run it with each. Neither transformers nor torch is a project dependency;
install them beside (torch with `scripts/setup --torch`, in `.venv-py/`):

    .venv-py/bin/pip install -q --no-deps --target /tmp/hf4 transformers==4.44.2 \\
        tokenizers==0.19.1 huggingface-hub==0.24.6 safetensors regex pyyaml tqdm filelock \\
        packaging requests certifi idna urllib3 charset-normalizer fsspec typing-extensions
    PYTHONPATH=/tmp/hf4:.venv/lib/python3.11/site-packages .venv-py/bin/python \\
        scripts/bench_transformers.py --snarkml target/debug/snarkml
"""

from __future__ import annotations

import io
import logging
import sys
import tempfile
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import transformers as tr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import exported_row, snarkml_args  # noqa: E402

VOCAB, SEQ = 100, 8


def encoder(model, config, **extra):
    """An encoder classifier of the common small configuration."""
    return lambda: model(config(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2,
                                num_attention_heads=2, intermediate_size=32,
                                max_position_embeddings=32, **extra))


# (name, the model, its inputs: token ids, then the attention mask, then token type ids)
MODELS = [
    ("BERT classifier", encoder(tr.BertForSequenceClassification, tr.BertConfig), 2),
    ("BERT classifier, eager attention",
     encoder(tr.BertForSequenceClassification, tr.BertConfig, attn_implementation="eager"), 2),
    ("BERT classifier, token ids only",
     encoder(tr.BertForSequenceClassification, tr.BertConfig), 1),
    ("BERT classifier, with token type ids",
     encoder(tr.BertForSequenceClassification, tr.BertConfig), 3),
    ("RoBERTa classifier",
     encoder(tr.RobertaForSequenceClassification, tr.RobertaConfig, pad_token_id=1), 2),
    ("ALBERT classifier",
     encoder(tr.AlbertForSequenceClassification, tr.AlbertConfig, embedding_size=8), 2),
    ("ELECTRA classifier",
     encoder(tr.ElectraForSequenceClassification, tr.ElectraConfig, embedding_size=8), 2),
    ("DistilBERT classifier", lambda: tr.DistilBertForSequenceClassification(tr.DistilBertConfig(
        vocab_size=VOCAB, dim=16, n_layers=2, n_heads=2, hidden_dim=32,
        max_position_embeddings=32)), 2),
    ("GPT-2 language model", lambda: tr.GPT2LMHeadModel(tr.GPT2Config(
        vocab_size=VOCAB, n_embd=16, n_layer=2, n_head=2, n_positions=32)), 1),
    ("GPT-Neo language model (global and local attention)",
     lambda: tr.GPTNeoForCausalLM(tr.GPTNeoConfig(
         vocab_size=VOCAB, hidden_size=16, num_layers=2, num_heads=2,
         max_position_embeddings=32, attention_types=[[["global", "local"], 1]],
         window_size=4)), 1),
]


class Logits(torch.nn.Module):
    """The model's logits alone (its output is a dictionary)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs):
        return self.model(*inputs)["logits"]


def sequence(rng: np.random.Generator, inputs: int) -> tuple:
    """Token ids (2-99: 0 and 1 are special in some of these vocabularies), the attention
    mask of a sequence padded from a random place on, and token type ids (a second segment
    from a random place on): the first `inputs` of them."""
    ids = rng.integers(2, VOCAB, size=(1, SEQ)).astype(np.int64)
    mask = np.ones((1, SEQ), np.int64)
    mask[0, rng.integers(4, SEQ + 1):] = 0
    types = np.zeros((1, SEQ), np.int64)
    types[0, rng.integers(2, SEQ):] = 1
    return (ids, mask, types)[:inputs]


def export(module: torch.nn.Module, sample: tuple, path: Path) -> None:
    names = ["input_ids", "attention_mask", "token_type_ids"][:len(sample)]
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(torch.from_numpy(a) for a in sample), str(path),
                          input_names=names, opset_version=17, dynamo=False)


def main() -> int:
    args = snarkml_args(__doc__)
    print(f"transformers {tr.__version__}, torch {torch.__version__}, "
          f"onnxruntime {ort.__version__}", flush=True)
    logging.disable(logging.WARNING)
    rng = np.random.default_rng(0)
    for name, make, inputs in MODELS:
        torch.manual_seed(0)
        module = Logits(make().eval())
        cal = [sequence(rng, inputs) for _ in range(16)]
        held = [sequence(rng, inputs) for _ in range(8)]
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            row = exported_row(lambda: export(module, cal[0], t / "m.onnx"), "torch's export",
                               args.snarkml, t, cal, held)
        print(f"{name} | {row}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
