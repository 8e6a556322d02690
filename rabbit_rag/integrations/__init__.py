"""Bridges to other frameworks. Each subpackage imports its framework only when it is imported itself.

예::

    from rabbit_rag.integrations.llama_index import KiwiSentenceSplitter, RabbitRetriever
"""
