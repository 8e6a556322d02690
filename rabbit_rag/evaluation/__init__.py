"""Evaluation on public Korean benchmarks (KorQuAD 1.0)."""
