"""Tiny, randomly initialised models built inside the tests: the real loading code runs on them,
nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

KOREAN_SENTENCES = [
    "대한민국은 민주공화국이다.",
    "대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.",
    "대통령의 임기는 5년으로 하며, 중임할 수 없다.",
    "국회의원의 임기는 4년으로 한다.",
    "헌법재판소 재판관의 임기는 6년으로 하며, 법률이 정하는 바에 의하여 연임할 수 있다.",
    "육아휴직 가능 자녀의 연령을 만 8세 이하로 조정한다.",
    "The quick brown fox jumps over the lazy dog 0123456789.",
]


def _charset(extra_text: str = "") -> list[str]:
    chars: set[str] = set("".join(KOREAN_SENTENCES) + extra_text)
    chars |= {chr(c) for c in range(0xAC00, 0xAC00 + 2000)}  # common syllables, so unseen text is not all [UNK]
    chars |= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?()[]-:;'\"·“”")
    return sorted(c for c in chars if not c.isspace())


def build_tiny_sentence_transformer(folder: Path, extra_text: str = "", dim: int = 32, seed: int = 0) -> Path:
    """A 1-layer BERT with a character WordPiece vocabulary, wrapped as a sentence-transformers model
    (Transformer → mean Pooling → Normalize) and saved to ``folder``."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # older releases
        from sentence_transformers import models  # type: ignore[no-redef]
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers import models as tok_models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    hf_dir = folder / "hf"
    hf_dir.mkdir(parents=True, exist_ok=True)
    chars = _charset(extra_text)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    # A WordPiece tokenizer built with `tokenizers` (transformers 5 no longer reads a bare vocab file).
    wordpiece = Tokenizer(
        tok_models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100)
    )
    wordpiece.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False
    )
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = BertTokenizerFast(
        tokenizer_object=wordpiece, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", do_lower_case=False,
    )  # fmt: skip
    tokenizer.save_pretrained(hf_dir)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=dim, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=dim * 2, max_position_embeddings=512,
        initializer_range=1.0,  # large random weights keep different texts apart after pooling
    )  # fmt: skip
    BertModel(config).save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=256)
    width = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    pooling = models.Pooling(width(), pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")
    out = folder / "st"
    model.save(str(out))
    return out
