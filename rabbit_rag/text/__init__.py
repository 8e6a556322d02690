"""Korean text: normalization, the shared Kiwi, BM25 terms, sentences with offsets, chunking.

Everything here is pure text logic that the read path (queries, answers, citations) and the write
path (ingest) both need, so it lives in the library and the ingest package imports it.

=====================  ===========================================================================
module                 what
=====================  ===========================================================================
``normalize``          NFC, line ends, control characters; encoding detection; binary sniffing
``kiwi``               the process-wide Kiwi analyzer (lazy) and morphemes as plain tuples
``terms``              BM25 terms (content morphemes + compounds), query terms, question words
``sentences``          hard segments + Kiwi sentences with exact offsets, legal-article starts
``similarity``         character-bigram overlap for paraphrases that Kiwi terms miss
``chunker``            whole sentences packed into chunks under a token budget
``spacing``            implausible spacing (letter-spaced or glued Korean) found and re-spaced with Kiwi
``quality``            garbled text (private-use, Latin-1 mojibake, replacement characters) detected
=====================  ===========================================================================

예::

    from rabbit_rag.text import bm25_tokenize, split_sentences
    bm25_tokenize("대통령의 임기는 5년으로 하며")   # ['대통령', '임기', '5', '년', '하']
"""

from __future__ import annotations

from rabbit_rag.text.chunker import ChunkSpan, KiwiChunker
from rabbit_rag.text.kiwi import configure_kiwi, get_kiwi
from rabbit_rag.text.normalize import decode_bytes, normalize_text, sniff_binary
from rabbit_rag.text.sentences import analyze_sentences, split_sentences, structural_breaks
from rabbit_rag.text.terms import bm25_query_terms, bm25_tokenize, content_terms, key_nouns

__all__ = [
    "ChunkSpan",
    "KiwiChunker",
    "analyze_sentences",
    "bm25_query_terms",
    "bm25_tokenize",
    "configure_kiwi",
    "content_terms",
    "decode_bytes",
    "get_kiwi",
    "key_nouns",
    "normalize_text",
    "sniff_binary",
    "split_sentences",
    "structural_breaks",
]
