"""Token counts for the data mix: budgets are in tokens, so counts must come from the
tokenizer the trainer will use. Until one is trained (`edumix tokenizer train`), a
byte-based estimate stands in and is labelled "estimate" wherever a count is shown."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edumix.core.hashing import file_sha256

ESTIMATE = "estimate"
BYTES_PER_TOKEN = 4  # typical of English byte-level BPE at a 32k-100k vocabulary


class TokenCounter:
    def __init__(self, tokenizer_path: str | None = None):
        self._tok = None
        self.label = ESTIMATE
        if tokenizer_path is not None:
            from tokenizers import Tokenizer

            path = Path(tokenizer_path)
            if not path.is_file():
                raise FileNotFoundError(f"mix.tokenizer: no tokenizer file at {path}")
            self._tok = Tokenizer.from_file(str(path))
            self.label = self.label_for(tokenizer_path)

    @staticmethod
    def label_for(tokenizer_path: str | None) -> str:
        """The label without loading the tokenizer (for the graph builder): the file's
        sha256, as the trainer records it, cut to 16 hex chars."""
        if tokenizer_path is None:
            return ESTIMATE
        return f"tokenizer:{file_sha256(tokenizer_path)[:16]}"

    def count(self, texts: Sequence[str]) -> list[int]:
        if self._tok is None:
            return [-(-len(t.encode("utf-8")) // BYTES_PER_TOKEN) for t in texts]
        # No special tokens: the loader adds bos/eos per document itself.
        return [len(e.ids) for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]
