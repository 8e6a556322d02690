"""A local Hugging Face chat model (``transformers``) as a streaming :class:`ChatModel`.

- Loaded lazily and once per process (:func:`load_chat_model` caches by id, device and dtype),
  from a Hugging Face id or a local folder; an id that cannot load here fails fast with
  :class:`ModelUnavailableError` naming it (``HF_HUB_OFFLINE`` is respected, see
  :func:`rabbit_rag.embeddings.resolve_model`).
- Device and dtype: CUDA in bfloat16 (float16 where bf16 is unsupported), Apple MPS in float16,
  CPU in float32 — or whatever settings say.
- The prompt is the model's own chat template with the generation prompt; text is streamed with
  ``TextIteratorStreamer`` from ``generate`` running under ``torch.inference_mode`` in a worker thread.
  The worker is one long-lived thread per model, not a new thread per answer: on CUDA a fresh thread
  decodes 2.4-2.9x slower than the main thread for a whole answer (H200, H100), a reused warm worker
  thread at 82% of the main thread's speed (H100; ``benchmarks/generation_threads.py``).
- Generation stops at the template's end-of-turn token(s) (``<|eot_id|>`` for Llama 3), found from
  the template itself as well as ``generation_config.eos_token_id``; greedy unless a temperature is set.
- Two decoders. ``generate`` (the default off CUDA): ``model.generate`` one answer at a time per
  model (a lock: the weights and the KV cache memory are shared), a stopping criterion watching a
  cancel flag. ``static`` (the default on CUDA): :class:`~rabbit_rag.generators.static_decode.StaticDecoder`,
  a slot KV cache with continuous batching of concurrent answers and decode steps captured as CUDA
  graphs on its own worker thread (``generate`` at batch 1 is bound by kernel launches on a GPU).
  Either way closing the stream (a client that went away) ends generation after the current token,
  and generation stops at the end-of-turn tokens.

예::

    model = load_chat_model("CarrotAI/Llama-3.2-Rabbit-Ko-3B-Instruct-2412")
    for piece in model.stream_chat([{"role": "user", "content": "대한민국의 수도는?"}]):
        print(piece, end="", flush=True)
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rabbit_rag.embeddings import pick_device, resolve_model
from rabbit_rag.errors import GeneratorError, InvalidInputError, ModelUnavailableError
from rabbit_rag.generators.base import (
    DEFAULT_LLM_COMPILE,
    DEFAULT_LLM_CUDA_GRAPHS,
    DEFAULT_LLM_DECODER,
    DEFAULT_LLM_MAX_BATCH,
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    ChatMessage,
)
from rabbit_rag.types import LLM_DECODERS

if TYPE_CHECKING:
    from rabbit_rag.generators.static_decode import StaticDecoder

DTYPES = ("auto", "bfloat16", "float16", "float32")
#: ``auto`` = ``static`` on CUDA, ``generate`` elsewhere (see the module docstring).
DECODERS = LLM_DECODERS
#: Prompt + answer tokens per concurrent answer of the static decoder when no context cap is set: its
#: KV cache is allocated up front (Llama-3.2-3B in bf16: 0.9 GB per 8,192-token slot).
STATIC_DEFAULT_CONTEXT = 8192
#: generation_config settings the static decoder does not apply: a model that sets them decodes with ``generate``.
_UNSUPPORTED_BY_STATIC = {
    "repetition_penalty": 1.0, "no_repeat_ngram_size": 0, "bad_words_ids": None, "suppress_tokens": None,
    "begin_suppress_tokens": None, "forced_bos_token_id": None, "forced_eos_token_id": None, "sequence_bias": None,
    "encoder_repetition_penalty": 1.0, "min_p": None,
}  # fmt: skip

#: End-of-turn tokens of common chat templates, used when present in the vocabulary.
KNOWN_END_TOKENS = ("<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "<|end_of_text|>", "</s>")
_PROBE = "§답변§"
_ZWSP = "\u200b"
_UNKNOWN_MAX_LENGTH = 10**7  # tokenizers that do not know their limit report ~1e30


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """Figures of one finished generation: prompt and generated tokens, time to the first token,
    decode speed, and whether it was cancelled."""

    prompt_tokens: int
    new_tokens: int
    first_token_s: float | None
    total_s: float
    cancelled: bool

    @property
    def decode_tokens_per_s(self) -> float | None:
        if self.first_token_s is None or self.new_tokens < 2:
            return None
        return (self.new_tokens - 1) / max(self.total_s - self.first_token_s, 1e-9)


def resolve_dtype(dtype: str, device: str) -> Any:
    """The torch dtype for ``dtype`` (one of :data:`DTYPES`) on ``device``."""
    import torch

    if dtype not in DTYPES:
        raise InvalidInputError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if dtype != "auto":
        return getattr(torch, dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.startswith("mps"):
        return torch.float16
    return torch.float32


def end_of_turn_ids(tokenizer: Any, generation_config: Any = None) -> list[int]:
    """Token ids that end an assistant turn: the ones the chat template writes right after an
    assistant message, known end tokens in the vocabulary, and the configured ``eos_token_id``."""
    ids: list[int] = []

    def add(i: Any) -> None:
        for x in i if isinstance(i, list | tuple) else [i]:
            if isinstance(x, int) and x >= 0 and x not in ids:
                ids.append(x)

    specials = {t: i for t, i in tokenizer.get_added_vocab().items()}
    try:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": "질문"}, {"role": "assistant", "content": _PROBE}], tokenize=False
        )
        after = rendered.split(_PROBE, 1)[1].lstrip(" ")
        for tok in sorted(specials, key=len, reverse=True):
            if tok and after.startswith(tok):
                add(specials[tok])
                break
    except Exception:  # templates that refuse a lone assistant turn: fall back on the known names
        pass
    for tok in KNOWN_END_TOKENS:
        if tok in specials:
            add(specials[tok])
    if generation_config is not None:
        add(getattr(generation_config, "eos_token_id", None))
    add(tokenizer.eos_token_id)
    return ids


class TransformersChatModel:
    """A ``transformers`` causal LM with a chat template, as a :class:`ChatModel`.

    Construct by id or folder (loaded on first use or by :meth:`load`), or wrap objects already
    in memory with :meth:`from_objects`.
    """

    def __init__(
        self,
        model_id: str,
        *,
        device: str | None = None,
        dtype: str = "auto",
        max_context: int | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = DEFAULT_TOP_P,
        model: Any = None,
        tokenizer: Any = None,
        decoder: str = DEFAULT_LLM_DECODER,
        max_batch: int = DEFAULT_LLM_MAX_BATCH,
        cuda_graphs: bool = DEFAULT_LLM_CUDA_GRAPHS,
        compile_step: bool = DEFAULT_LLM_COMPILE,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if dtype not in DTYPES:
            raise InvalidInputError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        if decoder not in DECODERS:
            raise InvalidInputError(f"decoder {decoder!r} is not one of {', '.join(DECODERS)}")
        if max_batch < 1:
            raise InvalidInputError(f"max_batch must be at least 1, not {max_batch}")
        self.model_id = model_id
        self.device_request = device
        self.dtype_request = dtype
        self.context_cap = max_context
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.model: Any = None
        self.tokenizer: Any = None
        self.device: str | None = None
        #: Generation stops at any of these ids (set on load; a benchmark may clear it).
        self.stop_token_ids: list[int] = []
        #: Figures of the most recent finished generation.
        self.last_stats: GenerationStats | None = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._worker: ThreadPoolExecutor | None = None  # the one generation thread, made on first use
        self._specials: list[str] = []
        self.decoder_request, self.max_batch = decoder, max_batch
        self.cuda_graphs, self.compile_step = cuda_graphs, compile_step
        self._notify = notify
        #: The static decoder when it is in use (set on load), else None: answers go through ``generate``.
        self.static_decoder: StaticDecoder | None = None
        #: Why ``auto`` decodes with ``generate`` on CUDA after all (None when it does not).
        self.decoder_fallback: str | None = None
        if model is not None or tokenizer is not None:
            if model is None or tokenizer is None:
                raise InvalidInputError("pass both model and tokenizer, or neither")
            self.location = model_id
            self.model, self.tokenizer = model, tokenizer
            self.device = str(next(model.parameters()).device)
            self._after_load()
        else:
            self.location = resolve_model(model_id)  # fails fast when the model cannot be had here

    @classmethod
    def from_objects(
        cls, model: Any, tokenizer: Any, *, name: str | None = None, **options: Any
    ) -> TransformersChatModel:
        """Wrap a model and tokenizer already in memory (a notebook's, or a benchmark's random model).

        예: ``TransformersChatModel.from_objects(model, tokenizer, name="my-llama")``
        """
        model_id = name or getattr(model, "name_or_path", "") or type(model).__name__
        return cls(model_id, model=model, tokenizer=tokenizer, **options)

    @property
    def name(self) -> str:
        return f"transformers:{self.model_id}"

    # -- loading -------------------------------------------------------------------------------------
    def load(self) -> TransformersChatModel:
        """Load tokenizer and weights now (once). Raises :class:`ModelUnavailableError` naming the model."""
        if self.model is not None:
            return self
        with self._load_lock:
            if self.model is None:
                self._load()
        return self

    def _load(self) -> None:
        try:
            import transformers
            from transformers import AutoModelForCausalLM, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(self.location)
            if not getattr(tokenizer, "chat_template", None):
                raise ModelUnavailableError(
                    self.model_id, "its tokenizer has no chat template; use an instruct (chat) model"
                )
            device = pick_device(self.device_request)
            dtype = resolve_dtype(self.dtype_request, device)
            dtype_kw = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
            model = AutoModelForCausalLM.from_pretrained(self.location, **{dtype_kw: dtype})
            model.to(device).eval()
        except ModelUnavailableError:
            raise
        except Exception as e:
            raise ModelUnavailableError(self.model_id, f"{type(e).__name__}: {e}") from e
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self._after_load()

    def _after_load(self) -> None:
        tok = self.tokenizer
        self.stop_token_ids = end_of_turn_ids(tok, getattr(self.model, "generation_config", None))
        self._specials = sorted(
            {str(t) for t in tok.all_special_tokens} | set(tok.get_added_vocab()), key=len, reverse=True
        )
        self._start_static_decoder()

    @property
    def decoder(self) -> str:
        """The decoder answers go through: ``static`` or ``generate``."""
        return "static" if self.static_decoder is not None else "generate"

    def _start_static_decoder(self) -> None:
        """Set up the static decoder when asked for (``static``) or on CUDA (``auto``). ``auto`` falls back
        to ``generate`` with a notice when the model cannot use it; ``static`` raises instead."""
        wanted = self.decoder_request
        if wanted == "generate" or (wanted == "auto" and not str(self.device).startswith("cuda")):
            return
        from rabbit_rag.generators.static_decode import StaticDecoder, UnsupportedModelError

        try:
            cfg = getattr(self.model, "generation_config", None)
            for key, neutral in _UNSUPPORTED_BY_STATIC.items():
                value = getattr(cfg, key, neutral)
                if value not in (neutral, None, 0, 1.0, [], ()):
                    raise UnsupportedModelError(f"its generation_config sets {key}={value!r}")
            cap = self.context_cap or STATIC_DEFAULT_CONTEXT
            self.static_decoder = StaticDecoder(
                self.model, slots=self.max_batch, max_tokens=min(self._model_context(), cap),
                cuda_graphs=self.cuda_graphs, compile_step=self.compile_step,
            )  # fmt: skip
        except UnsupportedModelError as e:
            if wanted == "static":
                raise InvalidInputError(f"decoder 'static' cannot decode {self.model_id!r}: {e}") from e
            self.decoder_fallback = str(e)
            if self._notify is not None:
                self._notify(f"{self.name}: decoding with transformers' generate, one answer at a time: {e}")

    @property
    def max_context(self) -> int:
        """The model's maximum length (config and tokenizer), capped by ``max_context`` if given and by the
        static decoder's slot size when it decodes."""
        self.load()
        limit = self._model_context()
        if self.static_decoder is not None:
            limit = min(limit, self.static_decoder.max_tokens)
        return limit

    def _model_context(self) -> int:
        limits = [int(getattr(self.model.config, "max_position_embeddings", 0) or 0)]
        tok_max = int(getattr(self.tokenizer, "model_max_length", 0) or 0)
        if 0 < tok_max < _UNKNOWN_MAX_LENGTH:
            limits.append(tok_max)
        if self.context_cap:
            limits.append(self.context_cap)
        limits = [x for x in limits if x > 0]
        return min(limits) if limits else 2048

    # -- prompts ------------------------------------------------------------------------------------
    def _defuse(self, messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
        """Messages whose text cannot smuggle control tokens (a document containing ``<|eot_id|>``
        would otherwise end the turn early): a zero-width space breaks every special-token string."""
        out = []
        for m in messages:
            content = m["content"]
            for tok in self._specials:
                if tok in content:
                    content = content.replace(tok, tok[:1] + _ZWSP + tok[1:])
            out.append({"role": m["role"], "content": content})
        return out

    def encode(self, messages: Sequence[ChatMessage]) -> list[int]:
        """Token ids of the prompt: the chat template with the generation prompt."""
        self.load()
        ids = self.tokenizer.apply_chat_template(
            self._defuse(messages), add_generation_prompt=True, tokenize=True, return_dict=False
        )
        return list(ids)

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt as text (for looking at it)."""
        self.load()
        return self.tokenizer.apply_chat_template(self._defuse(messages), add_generation_prompt=True, tokenize=False)

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.encode(messages))

    # -- generation ---------------------------------------------------------------------------------
    def stream_chat(
        self, messages: Sequence[ChatMessage], *, max_new_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        """The reply as it is generated. Waits for any generation already running on this model.

        Raises :class:`InvalidInputError` (at once) when the prompt leaves no room for an answer,
        and :class:`GeneratorError` (while iterating) when generation fails.
        """
        ids = self.encode(messages)
        room = self.max_context - len(ids)
        if room <= 0:
            raise InvalidInputError(
                f"the prompt has {len(ids)} tokens, the model {self.model_id!r} takes {self.max_context}; "
                "ask with fewer sources (-k) or a shorter question"
            )
        n_new = min(max_new_tokens or self.max_new_tokens, room)
        temp = self.temperature if temperature is None else temperature
        return self._stream(ids, n_new, temp)

    def _generation_config(self, max_new_tokens: int, temperature: float) -> Any:
        cfg = copy.deepcopy(self.model.generation_config)
        cfg.max_new_tokens = max_new_tokens
        cfg.max_length = None
        cfg.min_new_tokens = None
        cfg.eos_token_id = list(self.stop_token_ids) or None
        if cfg.pad_token_id is None:
            cfg.pad_token_id = self.tokenizer.pad_token_id
        if cfg.pad_token_id is None and self.stop_token_ids:
            cfg.pad_token_id = self.stop_token_ids[0]
        if temperature and temperature > 0:
            cfg.do_sample, cfg.temperature, cfg.top_p = True, float(temperature), float(self.top_p)
        else:  # greedy: clear sampling knobs a hub config may carry, so nothing warns or samples
            cfg.do_sample, cfg.temperature, cfg.top_p, cfg.top_k = False, None, None, None
        return cfg

    def _stream(self, ids: list[int], max_new_tokens: int, temperature: float) -> Iterator[str]:
        if self.static_decoder is not None:
            return self._stream_static(ids, max_new_tokens, temperature)
        return self._stream_generate(ids, max_new_tokens, temperature)

    def _stream_static(self, ids: list[int], max_new_tokens: int, temperature: float) -> Iterator[str]:
        """The reply through the static decoder: batched with whatever else is being answered; the text is
        decoded here, on the reader's thread, so the decoder thread only moves token ids."""
        from rabbit_rag.generators.static_decode import IncrementalDetokenizer

        decoder = self.static_decoder
        assert decoder is not None
        top_k = int(getattr(self.model.generation_config, "top_k", 0) or 0) if temperature > 0 else 0
        request = decoder.submit(
            ids, max_new_tokens, temperature=temperature, top_p=self.top_p, top_k=top_k, stop_ids=self.stop_token_ids
        )
        detok = IncrementalDetokenizer(self.tokenizer)
        finished = False
        try:
            for token in request:
                piece = detok.push(token)
                if piece:
                    yield piece
            tail = detok.flush()
            if tail:
                yield tail
            finished = True
        finally:
            if not finished:  # the reader went away (closed, or an error): the decoder drops it at its next step
                request.cancel()
            request.wait()
            t0 = request.submitted_at
            self.last_stats = GenerationStats(
                prompt_tokens=len(ids), new_tokens=request.new_tokens,
                first_token_s=None if request.first_token_at is None else request.first_token_at - t0,
                total_s=(request.finished_at or time.perf_counter()) - t0, cancelled=request.cancelled,
            )  # fmt: skip
        if request.error is not None:
            e = request.error
            raise GeneratorError(f"{self.name}: generation failed: {type(e).__name__}: {e}") from e

    def _stream_generate(self, ids: list[int], max_new_tokens: int, temperature: float) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Watch(StoppingCriteria):
            """Called once per new token: counts, times, and stops when the reader went away."""

            def __init__(self) -> None:
                self.cancel = threading.Event()
                self.count = 0
                self.first: float | None = None

            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                self.count += 1
                if self.first is None:
                    self.first = time.perf_counter()
                return torch.full(
                    (input_ids.shape[0],), self.cancel.is_set(), dtype=torch.bool, device=input_ids.device
                )

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        watch = Watch()
        cfg = self._generation_config(max_new_tokens, temperature)
        input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
        failure: list[BaseException] = []

        self._generate_lock.acquire()
        t0 = time.perf_counter()

        def work() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(
                        input_ids=input_ids,
                        attention_mask=torch.ones_like(input_ids),
                        generation_config=cfg,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([watch]),
                    )
            except BaseException as e:
                failure.append(e)
                streamer.on_finalized_text("", stream_end=True)  # wake the reader
            finally:
                end = time.perf_counter()
                self.last_stats = GenerationStats(
                    prompt_tokens=len(ids), new_tokens=watch.count,
                    first_token_s=None if watch.first is None else watch.first - t0,
                    total_s=end - t0, cancelled=watch.cancel.is_set(),
                )  # fmt: skip
                self._generate_lock.release()  # here, not in the reader: an abandoned reader must not hold it

        try:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rabbit-rag-generate")
            job = self._worker.submit(work)
        except BaseException:
            self._generate_lock.release()
            raise
        finished = False
        try:
            for piece in streamer:
                if piece:
                    yield piece
            finished = True
        finally:
            if not finished:  # the reader went away (closed, or an error): stop after the current token
                watch.cancel.set()
            job.result()  # work() keeps its own exceptions; this only waits for it
        if failure:
            e = failure[0]
            raise GeneratorError(f"{self.name}: generation failed: {type(e).__name__}: {e}") from e


_cache: dict[tuple[Any, ...], TransformersChatModel] = {}
_cache_lock = threading.Lock()


def load_chat_model(
    model_id: str,
    *,
    device: str | None = None,
    dtype: str = "auto",
    max_context: int | None = None,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float = DEFAULT_TOP_P,
    decoder: str = DEFAULT_LLM_DECODER,
    max_batch: int = DEFAULT_LLM_MAX_BATCH,
    cuda_graphs: bool = DEFAULT_LLM_CUDA_GRAPHS,
    compile_step: bool = DEFAULT_LLM_COMPILE,
    notify: Callable[[str], None] | None = None,
) -> TransformersChatModel:
    """The chat model ``model_id`` loaded (once per process for the same id, device, dtype, context cap and
    decoder settings). Raises :class:`ModelUnavailableError` naming the model when it cannot load here.

    예: ``model = load_chat_model("CarrotAI/Llama-3.2-Rabbit-Ko-3B-Instruct-2412", dtype="bfloat16")``
    """
    key = (model_id, device, dtype, max_context, decoder, max_batch, cuda_graphs, compile_step)
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            model = TransformersChatModel(
                model_id, device=device, dtype=dtype, max_context=max_context, decoder=decoder, max_batch=max_batch,
                cuda_graphs=cuda_graphs, compile_step=compile_step, notify=notify,
            ).load()  # fmt: skip
            _cache[key] = model
    # Generation settings are per caller, the weights are shared.
    view = copy.copy(model)
    view.max_new_tokens, view.temperature, view.top_p = max_new_tokens, temperature, top_p
    return view
