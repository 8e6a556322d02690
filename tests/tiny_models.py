"""Tiny, randomly initialised models built inside the tests: the real loading code runs on them,
nothing is downloaded."""

from __future__ import annotations

import itertools
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


# --- a tiny Llama 3-style chat model --------------------------------------------------------------

LLAMA3_SPECIAL_TOKENS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
]

# The Llama 3 chat template, minus the date lines of Llama 3.1+: headers, content, <|eot_id|> per turn.
LLAMA3_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)


def build_llama3_tokenizer(folder: Path, extra_text: str = "", vocab_size: int = 1200):
    """A byte-level BPE tokenizer (like Llama 3's) trained on a few Korean sentences, carrying the Llama 3
    special tokens and chat template. ``eos_token`` is ``<|end_of_text|>`` on purpose: a backend must find
    the end-of-turn token ``<|eot_id|>`` from the template, as with the real Llama 3.2 base configs."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=LLAMA3_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = [*KOREAN_SENTENCES, *[line for line in extra_text.splitlines() if line.strip()]]
    tok.train_from_iterator(corpus * 3, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|begin_of_text|>",
        eos_token="<|end_of_text|>",
        additional_special_tokens=["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        model_max_length=1_000_000_000_000_000_019_884_624_838_656,  # "unknown", as many hub tokenizers say
    )
    fast.chat_template = LLAMA3_CHAT_TEMPLATE
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(folder)
    return fast


def build_tiny_llama(
    folder: Path,
    script: str | None = None,
    loop: bool = False,
    hidden: int = 128,
    layers: int = 2,
    max_positions: int = 4096,
    seed: int = 0,
    extra_text: str = "",
) -> Path:
    """A tiny random ``LlamaForCausalLM`` with a Llama 3 tokenizer, saved to ``folder``.

    With ``script``, the weights are set so that greedy decoding after the chat template's generation
    prompt writes ``script`` and then ``<|eot_id|>`` (with ``loop=True``: writes it over and over, never
    stopping by itself). How: the attention and MLP outputs are zeroed, so each position's final hidden
    state is its own token's (normalized) embedding, and the output matrix maps each token of the
    script to the next one — a bigram model in Llama form. The real ``generate`` loop, KV cache, chat
    template and stop tokens all run unchanged.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    tokenizer = build_llama3_tokenizer(folder, extra_text=extra_text + "\n" + (script or ""))
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False,
    )  # fmt: skip
    model = LlamaForCausalLM(config).eval()
    if script is not None:
        _script_bigrams(model, tokenizer, script, loop)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, do_sample=False
    )
    model.save_pretrained(folder)
    return folder


def _script_bigrams(model, tokenizer, script: str, loop: bool) -> None:
    import torch

    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "질문"}], add_generation_prompt=True, tokenize=True, return_dict=False
    )
    ids = tokenizer.encode(script, add_special_tokens=False)
    chain = [prompt[-1], *ids] + ([ids[0]] if loop else [eot, ids[0]])
    succ: dict[int, int] = {}
    for a, b in itertools.pairwise(chain):
        if succ.setdefault(a, b) != b:
            raise ValueError(f"script {script!r}: token {tokenizer.convert_ids_to_tokens(a)!r} has two successors")
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.norm.weight.fill_(1.0)
        emb = model.model.embed_tokens.weight
        normed = emb / emb.pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
        head = model.lm_head.weight
        head.zero_()
        for a, b in succ.items():
            head[b] += 4.0 * normed[a] / normed.shape[1]
