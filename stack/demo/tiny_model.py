"""Build a tiny random Llama model and tokenizer locally (no hub), for a real vLLM on CPU in tests and demos.

Run with the Python of the vLLM environment (it has torch, transformers and tokenizers):
    .venv-vllm/bin/python stack/demo/tiny_model.py OUT_DIR
The output is gibberish; the plumbing, scheduling, KV cache and metrics of vLLM are real. Standalone on purpose:
it imports nothing from lgconsole, so it runs in an environment where lgconsole is not installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TINY_MODEL_NAME = "tiny-llama"  # the name vLLM serves it under: its weights are random, its text noise

VOCAB = 2048
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def corpus() -> list[str]:
    """Local text to train the tokenizer on: the standard library's docstrings."""
    import pydoc
    import textwrap

    lines = []
    for module in ("json", "pathlib", "asyncio", "collections", "itertools", "functools", "typing", "re"):
        text = pydoc.render_doc(module, renderer=pydoc.plaintext)
        lines.extend(textwrap.wrap(text, 200))
    return lines


def build(out: Path, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|begin_of_text|>",
                                   eos_token="<|eot_id|>", pad_token="<|end_of_text|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)

    torch.manual_seed(seed)
    config = LlamaConfig(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=2048,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, torch_dtype="float32")
    LlamaForCausalLM(config).save_pretrained(out)
    (out / "lgconsole-tiny.json").write_text(json.dumps({"built_by": "lgconsole stack/demo/tiny_model.py", "seed": seed}))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python stack/demo/tiny_model.py OUT_DIR", file=sys.stderr)
        raise SystemExit(2)
    print(build(Path(sys.argv[1])))
