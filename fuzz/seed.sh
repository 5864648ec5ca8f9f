#!/usr/bin/env bash
# Seeds the fuzz corpus with every expression of the SEL compatibility corpus.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/sel
python3 - <<'PY'
import json, hashlib
src = "../../shared/compat/sel/cases.jsonl"
for line in open(src, encoding="utf-8"):
    line = line.strip()
    if not line:
        continue
    expr = json.loads(line)["expr"].encode("utf-8")
    name = hashlib.sha1(expr).hexdigest()
    open(f"corpus/sel/{name}", "wb").write(expr)
PY
ls corpus/sel | wc -l
