#!/usr/bin/env python3
"""NDCG@10 of a reranker's saved scores when it reorders only BM25's top k (the rest keep BM25's
order after them), and how many of its top 10 per query come from below BM25's rank 30, the
depth of the candidate lists the distillation data gives each training query. k = 100 is what
`turborank eval` measures; a smaller k that scores higher means the model lifts documents from
deep in the list that it should leave there. A diagnosis, not a way turborank ranks.

  python3 scripts/rerank-depth.py RESULTS_DIR LABEL      e.g. data/build/results teacher

RESULTS_DIR is scripts/distill-results.sh's output (beir-scifact/, trec-dl19/); evaluation data
comes from ../shared/data (SHARED_DATA to change).
"""
import importlib.util
import os
import sys

_spec = importlib.util.spec_from_file_location('fusion_ndcg', os.path.join(os.path.dirname(__file__), 'fusion-ndcg.py'))
fusion_ndcg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fusion_ndcg)

DEPTHS = [10, 20, 30, 50, 100]
TRAINING_DEPTH = 30


def at_depth(model, bm25, qrels, k):
    """Mean NDCG@10 reranking BM25's top k, and the mean count of top-10 documents from below TRAINING_DEPTH."""
    total, deep, n = 0.0, 0, 0
    for q, relevance in qrels.items():
        if q not in model or q not in bm25:
            continue
        order = sorted((d for d in bm25[q] if d in model[q]), key=lambda d: -bm25[q][d])
        rank = {d: i for i, d in enumerate(order)}
        ranked = sorted(order[:k], key=lambda d: -model[q][d]) + order[k:]
        total += fusion_ndcg.ndcg10(ranked, relevance)
        deep += sum(1 for d in ranked[:10] if rank[d] >= TRAINING_DEPTH)
        n += 1
    return (total / n, deep / n) if n else (float('nan'), float('nan'))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results, label = sys.argv[1:]
    scifact, dl19 = fusion_ndcg.evaluation_sets(results, label)
    print(f'{label} reranking BM25\'s top k; "deep" = top-10 documents per query from below BM25\'s rank {TRAINING_DEPTH}')
    print('| k | SciFact NDCG@10 | deep | DL19 NDCG@10 | deep | mean NDCG@10 |')
    print('| --- | --- | --- | --- | --- | --- |')
    for k in DEPTHS:
        (s, sd), (d, dd) = at_depth(*scifact, k), at_depth(*dl19, k)
        print(f'| {k} | {s:.4f} | {sd:.2f} | {d:.4f} | {dd:.2f} | {(s + d) / 2:.4f} |')


if __name__ == '__main__':
    main()
