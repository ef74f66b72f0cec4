"""Byte-level BPE (HF `tokenizers`) trained on a run's own shards, plus a chat template.

Byte-level means no unknown tokens in any language or code. The tokenizer adds no
special tokens by itself: the data loader wraps each document in <|bos|> ... <|eos|>,
so token counts (the mixer's n_tokens) are counts of the text alone. The chat template
lives in a sidecar tokenizer_config.json (the Hugging Face place for it), as Jinja.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow.parquet as pq

from edumix.core.hashing import file_sha256
from edumix.core.run_dir import shard_files

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
USER, ASSISTANT, END = "<|user|>", "<|assistant|>", "<|end|>"
SPECIAL_TOKENS = [BOS, EOS, PAD, USER, ASSISTANT, END]  # ids 0..5, in this order

# One turn = role token + content + <|end|>; the prompt for a reply ends with <|assistant|>.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '<|user|>' }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>' }}"
    "{% else %}{{ raise_exception('roles must be user or assistant, got ' + message['role']) }}{% endif %}"
    "{{ message['content'] }}{{ '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


class TokenizerError(ValueError):
    pass


def sidecar_path(tokenizer_path: str | Path) -> Path:
    """tokenizer.json -> tokenizer_config.json (Hugging Face's name); x.json -> x_config.json."""
    path = Path(tokenizer_path)
    return path.with_name(f"{path.stem}_config.json")


def iter_text_batches(files: Sequence[Path], batch_rows: int = 1024) -> Iterator[list[str]]:
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=["text"]):
            yield batch.column(0).to_pylist()


def train_tokenizer(
    run_dir: str | Path, vocab_size: int, out: str | Path, min_frequency: int = 2, progress: bool = True
) -> Path:
    """Train on every shard document; same shards and settings -> byte-identical file."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from edumix.core.progress import progress_bar, progress_enabled

    if vocab_size < 256 + len(SPECIAL_TOKENS) + 1:
        raise TokenizerError(f"vocab size {vocab_size} is below the 256 byte symbols + {len(SPECIAL_TOKENS)} specials")
    files = shard_files(run_dir)
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=progress_enabled(None if progress else False),
    )
    bar = progress_bar(total=rows, unit="doc", desc="tokenizer: read", enabled=None if progress else False)

    def texts() -> Iterator[list[str]]:
        for batch in iter_text_batches(files):
            bar.update(len(batch))
            yield batch

    tok.train_from_iterator(texts(), trainer=trainer, length=rows)
    bar.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out))
    sidecar_path(out).write_text(json.dumps(tokenizer_config(), indent=2) + "\n")
    return out


def tokenizer_config() -> dict:
    """Hugging Face tokenizer_config.json: lets PreTrainedTokenizerFast load the export."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "additional_special_tokens": [USER, ASSISTANT, END],
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
    }


class TextTokenizer:
    """A trained tokenizer.json with its special-token ids and chat template."""

    def __init__(self, path: str | Path):
        from tokenizers import Tokenizer

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"tokenizer not found: {self.path} (train one with `edumix tokenizer train`)")
        try:
            self.tok = Tokenizer.from_file(str(self.path))
        except Exception as e:  # the Rust side raises a bare Exception on a bad file
            raise TokenizerError(f"{self.path}: not a tokenizer.json: {e}") from e
        self.sha256 = file_sha256(self.path)
        ids = {t: self.tok.token_to_id(t) for t in SPECIAL_TOKENS}
        if None in ids.values():
            raise TokenizerError(f"{self.path}: lacks special token(s) {[t for t, i in ids.items() if i is None]}")
        self.bos_id, self.eos_id, self.pad_id = ids[BOS], ids[EOS], ids[PAD]
        self.special_ids = ids
        sidecar = sidecar_path(self.path)
        config = json.loads(sidecar.read_text()) if sidecar.is_file() else tokenizer_config()
        self.chat_template = config.get("chat_template", CHAT_TEMPLATE)

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def apply_chat_template(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> str:
        """Render messages ({role: user|assistant, content}) as the model's prompt text."""
        from jinja2.exceptions import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str):
            raise TemplateError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = raise_exception
        return env.from_string(self.chat_template).render(
            messages=list(messages), add_generation_prompt=add_generation_prompt, bos_token=BOS
        )

    def encode_chat(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> list[int]:
        # Special tokens in the rendered text map to their ids (they are added tokens).
        return self.encode(self.apply_chat_template(messages, add_generation_prompt))
