"""The index folder: SQLite docstore, BM25 and FAISS generations, manifest."""
