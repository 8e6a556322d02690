"""Limits on what one request may ask, in one place: the library, the CLI and the API check these.

Questions are capped below retrieval queries because a follow-up's retrieval query carries the
conversation's topic question too (:func:`rabbit_rag.conversation.condense_query`).

예: ``len(question) <= DEFAULT_MAX_QUESTION_CHARS`` unless ``RABBIT_RAG_MAX_QUESTION_CHARS`` says otherwise.
"""

from __future__ import annotations

#: Longest retrieval query (a question, or a follow-up with its topic question), in characters.
MAX_QUERY_CHARS = 4000
#: Longest question, by default (``RABBIT_RAG_MAX_QUESTION_CHARS``); the setting may go up to the cap.
DEFAULT_MAX_QUESTION_CHARS = 2000
MAX_QUESTION_CHARS_CAP = 100_000
#: Longest content of one chat message (OpenAI-compatible endpoint).
MAX_CHAT_MESSAGE_CHARS = 4 * DEFAULT_MAX_QUESTION_CHARS
#: Most messages, and most characters over all of them, in one chat request: the conversation is
#: analyzed (Kiwi) to follow it, so what one request costs the server is bounded.
MAX_CHAT_MESSAGES = 64
MAX_CHAT_CHARS = 4 * MAX_CHAT_MESSAGE_CHARS
#: Most results one search may ask for (CLI and library), and one API request.
MAX_SEARCH_K = 1000
MAX_API_TOP_K = 100
#: Most passages an answer may be given as numbered sources.
MAX_ASK_K = 100

#: Reading files (``RABBIT_RAG_MAX_FILE_MB`` etc.): the largest file, what one DOCX/HWPX/HWP may
#: decompress, the largest compression ratio a zip member may declare, the time and address space
#: one parse may take.
DEFAULT_MAX_FILE_MB = 200.0
DEFAULT_MAX_UNPACKED_MB = 256.0
DEFAULT_MAX_RATIO = 200.0
DEFAULT_PARSE_TIMEOUT_S = 120.0
DEFAULT_PARSE_MEMORY_MB = 4096
