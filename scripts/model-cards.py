"""Writes models/turborank-{turbo,tiny}-en/README.md (the model cards) from the numbers of
`turborank report data/build/results --json` (given as argv[1]), the recipe that made them
(RECIPE, default data/distill-fuse.json) and the shipped configs.
  python3 scripts/model-cards.py report.json TURBO_RUN TINY_RUN [DATE] [RECIPE] [PACK]
PACK: when the teacher before fusion came from a pack (`distill fuse --from-pack PACK`), the
card says so: its stages before the fusion ran in an earlier run, on the data as it was then.
"""
import json, sys, os, re

report = json.load(open(sys.argv[1]))
runs = {'turbo': sys.argv[2], 'tiny': sys.argv[3]}
date = sys.argv[4] if len(sys.argv) > 4 else '?'
recipe = sys.argv[5] if len(sys.argv) > 5 else 'data/distill-fuse.json'
from_pack = sys.argv[6] if len(sys.argv) > 6 else None
distill = json.load(open(recipe))
teacher = distill['teacher']
matching = teacher['matching']
ts = teacher['shape']
grow = teacher.get('grow')
fuse = teacher.get('fuse')
base_shape = f"{ts['num_hidden_layers']} × {ts['hidden_size']}"
teacher_layers = ts['num_hidden_layers'] * (grow.get('times', 2) if grow else 1)
teacher_shape = f"{teacher_layers} × {ts['hidden_size']}"
pipeline = json.load(open('data/pipeline.json'))
headword = pipeline.get('dictionaries', {}).get('headword_in_document', False)
# the default, as src/rerank/default-model.ts sets it
default = re.search(r"DEFAULT_MODEL: ShippedModel = '(\w+)'", open('src/rerank/default-model.ts').read()).group(1)

def q(label):
    s = report['beir'].get('scifact', {}).get(label)
    d = report['trecDl'].get('dl19', {}).get(label)
    r = report['rag'].get('paul-graham-essay', {}).get(label)
    sp = next((x for x in report['speed'] if x['label'] == label and x['precision'] == 'fp32'), None)
    return s, d, r, sp

def f4(x):
    return '–' if x is None else f'{x:.4f}'

def row(name, label):
    s, d, r, sp = q(label)
    mean = None if s is None or d is None else (s + d) / 2
    rag = '–' if r is None else f"{r['hitRate']:.4f} / {r['mrr']:.4f}"
    speed = '–' if sp is None else f"{sp['docsPer50ms']:.1f}"
    return f'| {name} | {f4(s)} | {f4(d)} | {f4(mean)} | {rag} | {speed} |'

for short, run in runs.items():
    name = f'turborank-{short}-en'
    cfg = json.load(open(f'models/{name}/config.json'))
    layers = cfg['num_hidden_layers']
    size = os.path.getsize(f'models/{name}/model.safetensors')
    sp = q(run)[3]
    params = f"{sp['parameters'] / 1e6:.1f}M" if sp and sp.get('parameters') else '?'
    loss = 'Margin-MSE' if 'margin-mse' in run else 'listwise KL'
    swap = {'margin-mse': 'listwise-kl', 'listwise-kl': 'margin-mse'}
    other = next(run.replace(a, b) for a, b in swap.items() if run.endswith(a))
    student = next(m for m in distill['students']['models'] if run.startswith(m['name'] + '-'))
    student_steps = {**student['train'], **student.get('by_loss', {}).get(run[len(student['name']) + 1:], {})}['steps']
    sq, dq, rq, _ = q(run)
    tunits = teacher['shape']['intermediate_size']
    cuts = []
    if cfg['hidden_size'] < ts['hidden_size']:
        cuts.append(f"narrowed to {cfg['hidden_size']} of its {ts['hidden_size']} dimensions: {cfg['num_attention_heads']} of its {ts['num_attention_heads']} heads, "
                    f"each keeping its ALiBi slope, and the residual dimensions the layers read most")
    if cfg['intermediate_size'] < tunits:
        cuts.append(f"keeping the {cfg['intermediate_size']} strongest of each layer's {tunits} feed-forward units")
    pruned = f" ({'; '.join(cuts)})" if cuts else ''
    bs, bd, br, _ = q('BM25')
    wins = [n for n, a, b in (('SciFact', sq, bs), ('DL19', dq, bd)) if a is not None and b is not None and a > b]
    tq = q('teacher')
    kept = None if None in (sq, dq, tq[0], tq[1]) else (sq + dq) / (tq[0] + tq[1])
    if kept is not None and kept < 0.5 and layers == 1:
        shallow = (f" It keeps only {kept:.0%} of its teacher's mean NDCG@10: it barely ranks. Our reading (not proven): with one layer, the [CLS] "
                   "token the head reads gathers the tokens once, before any query word has met its copy in the document, so the match "
                   "can only be read off a sum of token vectors; the two-layer turbo keeps most of the teacher's quality.")
    else:
        shallow = ''
    if len(wins) == 2:
        verdict = f"It beats BM25 on both NDCG@10 sets measured, after a few CPU hours of training in all; it is still far from models trained at scale (docs/RESULTS.md)."
        limit = 'Trained for minutes on a 2-core CPU from a teacher that saw little data: far weaker than rerankers trained at scale.'
    else:
        better = f" (better only on {', '.join(wins)})" if wins else ''
        verdict = (f"**Read the results first: it does not beat BM25 on the mean NDCG@10{better}.** It was distilled in one session on a "
                   "2-core CPU, from a teacher that saw little data. It shows the whole recipe running end to end inside "
                   "turborank, and is the starting point for the longer runs that would make it useful (docs/RESULTS.md)." + shallow)
        limit = "Its rankings are worse than BM25's on the mean of the sets measured: do not put it in front of users without checking it on your data."

    grown = ('' if not grow else
             f", then grown to {teacher_shape} by stacking its layers on top of themselves (Gong et al. 2019) and\n   fine-tuned {grow['train']['steps']} more steps on the same pairs")
    fused = ('' if not fuse else
             f";\n   then it scored the BM25 top 30 of {distill['label']['max_queries']:,} queries, its scores and BM25's were fused per query\n"
             f"   (z-scores, {1 - fuse.get('bm25_weight', 0.5):.0%} its own, {fuse.get('bm25_weight', 0.5):.0%} BM25's), and it was trained {fuse['train']['steps']} steps with Margin-MSE\n"
             f"   towards the fused scores (self-distillation: the fusion ranks better than either alone)")
    origin = ('' if not (fuse and from_pack) else
              ";\n   the stages before the fusion ran in an earlier run, on the data as it was then (the teacher\n"
              f"   of {from_pack}, docs/DISTILL.md); the fusion, the labels and the students on the data above")
    card = f"""# {name}

A small English cross-encoder reranker: JinaBERT (BERT with a symmetric ALiBi attention bias
instead of position embeddings), **{layers} layer{'s' if layers > 1 else ''} × {cfg['hidden_size']}** hidden, {cfg['num_attention_heads']} heads, GEGLU
feed-forward of {cfg['intermediate_size']}, a 30,000-piece lowercase WordPiece vocabulary; {params} parameters,
{size / 2**20:.1f} MiB of float16 weights. It scores a (query, document) pair with one logit
(higher is more relevant; sigmoid gives Jina's `relevance_score`). It ships inside turborank
{'and is its default model (`turborank rerank` without `--model`, `Reranker.load()`)' if short == default else '(`--model` with this folder)'}.

{verdict}

## Training data

Everything was built offline by `turborank data all --config data/pipeline.json`
(docs/DATA.md), each source's licence recorded in its manifest:

- Debian package metadata (names, one-line and long descriptions; each package's own licence,
  Debian main);
- dictionaries and glossaries from Debian packages: GCIDE (GPL-2+), WordNet 3.0 (WordNet
  licence), FOLDOC (GFDL-1.1+), the Jargon File (public domain){';' + chr(10) + '  each headword asked about in a few phrasings ("what is X", "define X", …), the answer its' + chr(10) + '  entry as `headword: definition`' if headword else ''};
- manual pages (`manpages`, `manpages-dev`: mostly the Linux man-pages copyleft licence);
- SciFact's corpus and train split queries and qrels (CC BY-NC 2.0), and the corpus's paper
  titles as queries for their own abstracts; never its test queries or qrels;
- the Lyft 2021 10-K RAG set (a public SEC filing; LLM-generated questions).

The pipeline refuses any overlap with the evaluation sets (SciFact test, TREC DL19, the Paul
Graham RAG set).

## Recipe

`turborank distill all --config {recipe}` (docs/DISTILL.md), as Jina made Reranker
Turbo and Tiny:

1. a teacher, JinaBERT {base_shape}, first taught to match words on synthetic pairs (a
   curriculum of {len(matching['stages'])} stages, {sum(st['steps'] for st in matching['stages'])} steps of 32 pairs, from a one-word query in a 4-word
   document to an 8-word query in a 60-word one; key weights started as a copy of query
   weights, dropout off: without this, models trained here from random weights never learnt
   to rank), then pre-trained with the masked-LM loss ({teacher['pretrain']['steps']} steps of {teacher['pretrain']['batch_size']} texts), then
   fine-tuned as a cross-encoder on relevance pairs with BM25 hard negatives and one random
   negative per query ({teacher['finetune']['steps']} steps of {teacher['finetune']['batch_size']} pairs, binary cross-entropy){grown}{fused}
   (docs/DISTILL.md gives each stage's time){origin};
2. the teacher scored the BM25 top 30 of {distill['label']['max_queries']:,} queries (most of them never labelled by
   anyone);
3. this student started from the teacher's embeddings, its first {f'{layers} layers' if layers > 1 else 'layer'}{pruned} and its classifier
   head, and learnt the teacher's scores with **{loss}** ({student_steps} steps). The other loss was
   trained too and is reported beside it; this one scored better (docs/RESULTS.md).

## Results

Produced by `bash scripts/distill-results.sh` (SciFact test: BM25 top 100 reranked; TREC DL19:
the given BM25 top 100; Paul Graham essay: BM25 top 10, 5 kept; 256 tokens per pair;
documents per 50 ms on SciFact text, 2 threads, AMD EPYC, {date}):

| ranking | SciFact NDCG@10 | DL19 NDCG@10 | mean | Paul Graham hit rate / MRR | docs per 50 ms |
| --- | --- | --- | --- | --- | --- |
{row('BM25 alone', 'BM25')}
{row(f'teacher ({teacher_shape})', 'teacher')}
{row(f'{name} ({run})', run)}
{row(f'same shape, {other}', other)}

## Licence

The weights are released under the Apache-2.0 licence, like turborank's code. They were
trained on text under the licences listed above, including SciFact's CC BY-NC 2.0 and
GPL/GFDL dictionaries; whether those terms reach a model trained on them is not settled, so
check them before commercial use.

## Intended use

{"turborank's out-of-the-box default: trying" if short == default else f"The other of turborank's two shipped models, to compare with the default (turborank-{default}-en); trying"} the commands, the server and the library without
downloading anything; tests and demos; a starting checkpoint for further distillation
(`turborank train --config …` with `model.init` set to this folder).

## Limits

- {limit}
  For production reranking pass `--model` with a reranker trained at scale (e.g. jinaai/jina-reranker-v1-turbo-en).
- English only, lowercased; trained on pairs of at most 192 tokens (ALiBi accepts up to 8,192,
  but longer inputs are untested for quality).
- Its domain is software package descriptions, dictionary definitions and scientific claims.
"""
    open(f'models/{name}/README.md', 'w').write(card)
    print('wrote', f'models/{name}/README.md', file=sys.stderr)
