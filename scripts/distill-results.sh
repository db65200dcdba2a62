#!/usr/bin/env bash
# The evaluation behind docs/RESULTS.md: BM25, the teacher and every student run of
# `turborank distill` (as `distill pack` wrote them, in float16: what ships), on SciFact test
# (BM25 top 100), TREC DL19 (the given BM25 top 100) and the Paul Graham RAG set (BM25 top 10,
# 5 kept), then documents per 50 ms on SciFact text, then `turborank report`.
#
#   bash scripts/distill-results.sh [PACK_DIR] [OUT_DIR]
#
# PACK_DIR defaults to data/build/distill/pack, OUT_DIR to data/build/results (the report goes
# to OUT_DIR/report). Evaluation data is read from ../shared/data (SHARED_DATA to change).
# Every step saves its scores as it goes: run the script again to resume after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=${1:-data/build/distill/pack}
OUT=${2:-data/build/results}
DATA=${SHARED_DATA:-../shared/data}
MAX_LENGTH=${MAX_LENGTH:-256}
THREADS=${THREADS:-2}
TR="node bin/turborank.js"

models=()
# the teacher first, then every student run that `distill pack` wrote
for dir in "$PACK/teacher" "$PACK"/*/; do
  name=$(basename "$dir")
  [ -f "$PACK/$name/model.safetensors" ] || continue
  case " ${models[*]:-} " in *" $name "*) ;; *) models+=("$name") ;; esac
done
[ ${#models[@]} -gt 0 ] || { echo "distill-results: nothing packed in $PACK: run \`turborank distill all\` and \`distill pack\` first" >&2; exit 2; }

common=(--max-length "$MAX_LENGTH" --threads "$THREADS" --quiet)
$TR eval beir --data "$DATA/beir/scifact" --out "$OUT/beir-scifact" --quiet
$TR eval trec --data "$DATA/trec-dl/dl19" --out "$OUT/trec-dl19" --quiet
$TR eval rag --data "$DATA/rag/paul-graham-essay/qa_dataset.json" --out "$OUT/rag-paul-graham" --quiet
for name in "${models[@]}"; do
  $TR eval trec --data "$DATA/trec-dl/dl19" --model "$PACK/$name" --label "$name" --out "$OUT/trec-dl19" "${common[@]}"
  $TR eval rag --data "$DATA/rag/paul-graham-essay/qa_dataset.json" --model "$PACK/$name" --label "$name" --out "$OUT/rag-paul-graham" "${common[@]}"
  $TR eval beir --data "$DATA/beir/scifact" --model "$PACK/$name" --label "$name" --out "$OUT/beir-scifact" "${common[@]}"
done
# int8 (issue 7's aim: within 0.5 NDCG@10 points of fp32) for the students, the models that ship
for name in "${models[@]}"; do
  [ "$name" = teacher ] && continue
  $TR eval trec --data "$DATA/trec-dl/dl19" --model "$PACK/$name" --label "$name-int8" --precision int8 --out "$OUT/trec-dl19" "${common[@]}"
  $TR eval beir --data "$DATA/beir/scifact" --model "$PACK/$name" --label "$name-int8" --precision int8 --out "$OUT/beir-scifact" "${common[@]}"
done
speed=()
for name in "${models[@]}"; do speed+=(--model "$PACK/$name"); done
$TR eval speed "${speed[@]}" --precision fp32 --precision int8 --data "$DATA/beir/scifact" --threads "$THREADS" --requests "${REQUESTS:-15}" --out "$OUT/speed" --quiet
$TR report "$OUT" --out "$OUT/report"
echo "distill-results: report in $OUT/report/report.md" >&2
