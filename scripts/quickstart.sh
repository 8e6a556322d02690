#!/usr/bin/env bash
# Quick start: a virtualenv in .venv, rabbit-rag installed, the bundled sample indexed and searched.
#
#   bash scripts/quickstart.sh
#
# torch: `pip install torch==2.13.0` takes the CPU build where a local wheel is provided (as on our
# machines); on a plain Linux machine PyPI serves the CUDA build. For a small CPU-only install set
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  python -m pip install --quiet "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
fi
python -m pip install --quiet -e ".[dev]"

# No model hub needed: BM25-only index (add --embed-model nlpai-lab/KURE-v1 where the hub or a cache is available).
rabbit-rag ingest samples --index indexes/sample --embed-model none
rabbit-rag search "대통령 임기는 몇 년이야?" --index indexes/sample -k 3
rabbit-rag ask "국회의원 임기는?" --index indexes/sample --llm extractive
