#!/usr/bin/env python3
"""NDCG@10 of a reranker's saved scores fused with BM25's, per query: (1 - w) * z(model) + w * z(BM25),
z the score's z-score over the query's candidates. w = 0 is the reranker alone (it reproduces
`turborank eval`'s NDCG@10), w = 1 BM25 alone. A measurement of how much a model's ranking adds
to BM25's, not a way turborank ranks.

  python3 scripts/fusion-ndcg.py RESULTS_DIR LABEL      e.g. data/build/results teacher

RESULTS_DIR is scripts/distill-results.sh's output (beir-scifact/, trec-dl19/); evaluation data
comes from ../shared/data (SHARED_DATA to change).
"""
import collections
import json
import math
import os
import statistics
import sys

WEIGHTS = [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1]


def ndcg10(ranked, relevance):
    dcg = sum(relevance.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(r / math.log2(i + 2) for i, r in enumerate(sorted(relevance.values(), reverse=True)[:10]))
    return dcg / ideal if ideal else 0.0


def zscores(values):
    mean, spread = statistics.mean(values), statistics.pstdev(values) or 1.0
    return [(v - mean) / spread for v in values]


def score_cache(path):
    """turborank's score cache: a header line, then {"q", "d": [ids], "s": [scores]} per query."""
    out = {}
    with open(path) as f:
        next(f)
        for line in f:
            o = json.loads(line)
            out[o['q']] = dict(zip(o['d'], o['s']))
    return out


def fused(model, bm25, qrels):
    rows = []
    for w in WEIGHTS:
        total, n = 0.0, 0
        for q, relevance in qrels.items():
            if q not in model or q not in bm25:
                continue
            docs = [d for d in bm25[q] if d in model[q]]
            a, b = zscores([model[q][d] for d in docs]), zscores([bm25[q][d] for d in docs])
            score = {d: (1 - w) * x + w * y for d, x, y in zip(docs, a, b)}
            total += ndcg10(sorted(docs, key=lambda d: -score[d]), relevance)
            n += 1
        rows.append((w, total / n if n else float('nan'), n))
    return rows


def evaluation_sets(results, label):
    """Per set (SciFact test, DL19): the model's saved scores, BM25's scores of the same candidates and the qrels."""
    data = os.environ.get('SHARED_DATA', '../shared/data')
    # SciFact test: qrels and our BM25 run (TREC format)
    qrels = collections.defaultdict(dict)
    with open(f'{data}/beir/scifact/qrels/test.tsv') as f:
        next(f)
        for line in f:
            q, d, r = line.rstrip('\n').split('\t')
            qrels[q][d] = int(r)
    bm25 = collections.defaultdict(dict)
    with open(f'{results}/beir-scifact/bm25.test.top100.run') as f:
        for line in f:
            q, _, d, _, s, _ = line.split()
            bm25[q][d] = float(s)
    scifact = (score_cache(f'{results}/beir-scifact/scores.test.{label}.jsonl'), bm25, qrels)
    # TREC DL19: graded qrels and the given BM25 candidates with their scores
    qrels = collections.defaultdict(dict)
    with open(f'{data}/trec-dl/dl19/qrels.txt') as f:
        for line in f:
            q, _, d, r = line.split()
            qrels[q][d] = int(r)
    bm25 = collections.defaultdict(dict)
    with open(f'{data}/trec-dl/dl19/bm25-top100.json') as f:
        for entry in json.load(f):
            for hit in entry['hits']:
                bm25[str(hit['qid'])][str(hit['docid'])] = hit['score']
    dl19 = (score_cache(f'{results}/trec-dl19/scores.{label}.jsonl'), bm25, qrels)
    return scifact, dl19


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results, label = sys.argv[1:]
    scifact, dl19 = (fused(*s) for s in evaluation_sets(results, label))
    print(f'{label} fused with BM25 (z-scores per query); w = weight of BM25')
    print('| w | SciFact NDCG@10 | DL19 NDCG@10 | mean |')
    print('| --- | --- | --- | --- |')
    for (w, s, _), (_, d, _) in zip(scifact, dl19):
        print(f'| {w} | {s:.4f} | {d:.4f} | {(s + d) / 2:.4f} |')


if __name__ == '__main__':
    main()
