"""Counting a prompt's CLIP tokens in the GUI, without transformers or torch.

The `tokenizers` library (Rust, imports in milliseconds) is set up exactly as CLIP's
tokenizer is (normaliser, pre-tokeniser and BPE, as transformers' CLIPTokenizerFast
builds them) from the bundled vocab.json and merges.txt. Stable Diffusion reads 75
tokens per chunk (77 with the start and end tokens); today only the first chunk is
used, so the editor warns when a prompt is longer.
"""

from __future__ import annotations

import threading
from pathlib import Path

from engine.api.prompt_syntax import layout_chunks, parse_attention, without_lora_tags
from engine.resources import CLIP_TOKENIZER_DIR

TOKENS_PER_CHUNK = 75
_SPLIT = (
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"
)


def build_clip_tokenizer(folder: Path = CLIP_TOKENIZER_DIR):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    bpe = models.BPE.from_file(
        str(folder / "vocab.json"),
        str(folder / "merges.txt"),
        unk_token="<|endoftext|>",
        continuing_subword_prefix="",
        end_of_word_suffix="</w>",
        fuse_unk=False,
    )
    tokenizer = Tokenizer(bpe)
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    return tokenizer


class PromptTokenCounter:
    """Counts tokens; the tokenizer is built on a background thread the first time."""

    def __init__(self) -> None:
        self._tokenizer = None
        self._ready = threading.Event()
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            threading.Thread(target=self._build, name="clip-tokenizer", daemon=True).start()

    def _build(self) -> None:
        try:
            self._tokenizer = build_clip_tokenizer()
        finally:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._tokenizer is not None

    def wait(self, timeout: float | None = None) -> bool:
        self.start()
        return self._ready.wait(timeout) and self._tokenizer is not None

    def count(self, text: str) -> int | None:
        """Tokens in `text` (without the start and end tokens); None until ready."""
        if not self.ready:
            self.start()
            return None
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def chunk_sizes(self, text: str) -> list[int] | None:
        """Tokens in each 75-token chunk of the prompt as the engine lays them out
        (weights syntax and <lora:...> tags are not text); None until ready."""
        if not self.ready:
            self.start()
            return None
        tokenizer = self._tokenizer
        chunks = layout_chunks(
            parse_attention(without_lora_tags(text)),
            lambda run: tokenizer.encode(run, add_special_tokens=False).ids,
            comma=tokenizer.token_to_id(",</w>"),
            size=TOKENS_PER_CHUNK,
        )
        return [len(chunk) for chunk in chunks]


def token_text(sizes: list[int]) -> str:
    """'12/75 tokens'; past one chunk: '80 tokens in 2 chunks (75 + 5)'."""
    if len(sizes) == 1:
        return f"{sizes[0]}/{TOKENS_PER_CHUNK} tokens"
    return f"{sum(sizes)} tokens in {len(sizes)} chunks ({' + '.join(map(str, sizes))})"
