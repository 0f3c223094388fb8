"""Synthetic long-context retrieval (passkey, needle), rebuilt from a seed at exact token lengths.

What is reproduced from LongEmbed (Zhu et al. 2024, arXiv:2404.12096, §3.2; dataset ``dwzhu/LongEmbed``):

* one candidate pool per context length (default 256 … 32,768 tokens); each pool has ``n_candidates`` = 100
  documents and ``n_queries`` = 50 queries, each query with exactly one relevant document in its pool, and
  the other 50 documents are distractors of the same form (LongEmbed shares candidates between the queries
  of a length "to speed up evaluation"; its per-length splits have 100 documents, 50 queries, 50 gold docs);
* **passkey** ("personalized passkey retrieval", from E5-Mistral): every document is the filler "The grass
  is green. The sky is blue. The sun is yellow. Here we go. There and back again." repeated, with
  "NAME's pass key is KEY. Remember it. KEY is the pass key for NAME." inserted between two filler
  sentences at a random depth; each document has its own person; the query is
  "what is the passkey for NAME?" (the form in LongEmbed's released data; the paper's figure writes
  "What is the pass key for NAME?");
* **needle**: a fact sentence inserted at a random sentence boundary into a long essay text; the query asks
  for the fact. All documents of a pool share the same haystack prefix and differ only by their needle and
  its position (LongEmbed's documents of one length differ in size only by the needle's length);
* main metric: accuracy of the top-ranked document (``acc_at_1``; LongEmbed reports nDCG@1, the same number
  with one relevant document).

What differs, and why:

* lengths are **exact content tokens of the evaluated model's tokenizer** (no special tokens), not
  LongEmbed's word budget of 0.75 × tokens; a length bucket then means the same thing for every model;
* the 100 needle facts and their questions are our own (:data:`NEEDLES`); LongEmbed's GPT-4-written facts
  are on the Hugging Face hub, which is not reachable offline;
* the needle haystack is the Paul Graham essays LongEmbed used (``haystack="paul_graham"``) or, always
  available offline, the BBC News articles in a seeded order (``haystack="bbc"``);
* passkeys are random 5-digit numbers, person names are drawn from :data:`FIRST_NAMES` × :data:`LAST_NAMES`;
  depths are uniform on [0, 1], snapped to the nearest sentence boundary.

``query_meta[qid]`` records ``target_length``, ``doc_tokens`` (the gold document's exact length) and
``depth`` (share of the gold document's haystack tokens before the inserted sentence).
"""
from __future__ import annotations

import hashlib
import json
import random
from typing import Sequence

from ..errors import LmkbenchError
from .haystack import (FILLER, TokenizedText, bbc_haystack, check_lengths, filler_text, paul_graham_haystack,
                       place, tokenize_text)
from .types import RetrievalData

DEFAULT_LENGTHS = (256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
HAYSTACKS = ("bbc", "paul_graham")
LENGTH_TOLERANCE = 0.02     # a re-tokenized sample document may differ from its computed length by this share

PASSKEY_TEMPLATE = "{name}'s pass key is {key}. Remember it. {key} is the pass key for {name}."
PASSKEY_QUERY = "what is the passkey for {name}?"

FIRST_NAMES = (
    "Amara", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ingrid", "Jamal", "Keiko", "Liam",
    "Mei", "Nikolai", "Olga", "Pedro", "Quentin", "Rosa", "Sanjay", "Tamsin", "Umar", "Valeria", "Wendell",
    "Ximena", "Yusuf", "Zara", "Anders", "Beatriz", "Cedric", "Daphne", "Emeka", "Fiona", "Gustavo", "Hannah",
    "Idris", "Juliet", "Kofi", "Lucia", "Marcus", "Nadia", "Oscar", "Priya", "Rafael", "Sofia", "Tobias",
    "Ursula", "Viktor", "Wanda", "Yara", "Zoltan",
)
LAST_NAMES = (
    "Abernathy", "Bergstrom", "Castillo", "Dunmore", "Eriksen", "Fairweather", "Galloway", "Hargreaves",
    "Ishikawa", "Jablonski", "Kowalczyk", "Lindqvist", "Mbeki", "Novak", "Okafor", "Petrova", "Quinlan",
    "Rasmussen", "Sandoval", "Thackeray", "Underwood", "Valdivia", "Whitlock", "Yamamoto", "Zielinski",
    "Ashford", "Brennan", "Coutinho", "Delacroix", "Esposito", "Fitzgerald", "Gonzaga", "Holloway", "Iverson",
    "Kaminski", "Lachance", "Montoya", "Nakamura", "Oyelaran", "Pemberton", "Radcliffe", "Stanhope",
    "Trevino", "Vasquez", "Wexford", "Ackerman", "Blackwood", "Carrington", "Drummond", "Ellsworth",
)

# (needle sentence, question). Written for this benchmark: everyday facts from science, geography,
# history, art and nature, each with a question that only its own sentence answers.
NEEDLES: tuple[tuple[str, str], ...] = (
    ("The chemical symbol for gold is Au, from the Latin word aurum.", "What is the chemical symbol for gold?"),
    ("Water boils at 100 degrees Celsius at sea level.", "At what temperature does water boil at sea level?"),
    ("The speed of light in a vacuum is about 299,792 kilometres per second.", "What is the speed of light in a vacuum?"),
    ("Marie Curie was the first person to win Nobel Prizes in two different sciences.", "Who was the first person to win Nobel Prizes in two different sciences?"),
    ("The mitochondrion is known as the powerhouse of the cell.", "Which organelle is known as the powerhouse of the cell?"),
    ("Penicillin was discovered by Alexander Fleming in 1928.", "Who discovered penicillin?"),
    ("The smallest prime number is 2.", "What is the smallest prime number?"),
    ("A hexagon has six sides.", "How many sides does a hexagon have?"),
    ("The Pythagorean theorem says the square of the hypotenuse equals the sum of the squares of the other two sides.", "What does the Pythagorean theorem say?"),
    ("Jupiter is the largest planet in the solar system.", "Which is the largest planet in the solar system?"),
    ("Mercury is the planet closest to the Sun.", "Which planet is closest to the Sun?"),
    ("The human heart has four chambers.", "How many chambers does the human heart have?"),
    ("Diamond is a form of pure carbon.", "What element is diamond made of?"),
    ("Sound travels at about 343 metres per second in air at room temperature.", "How fast does sound travel in air?"),
    ("A DNA molecule has the shape of a double helix.", "What is the shape of a DNA molecule?"),
    ("Albert Einstein published the general theory of relativity in 1915.", "Who published the general theory of relativity?"),
    ("The adult human body has 206 bones.", "How many bones are in the adult human body?"),
    ("Photosynthesis uses sunlight to turn carbon dioxide and water into glucose and oxygen.", "What does photosynthesis turn carbon dioxide and water into?"),
    ("Water freezes at 32 degrees on the Fahrenheit scale.", "At what temperature does water freeze in Fahrenheit?"),
    ("Oxygen makes up about 21 percent of the air we breathe.", "What percentage of the air is oxygen?"),
    ("The number pi is approximately 3.14159.", "What is the approximate value of pi?"),
    ("Neil Armstrong was the first person to walk on the Moon, in 1969.", "Who was the first person to walk on the Moon?"),
    ("Dmitri Mendeleev devised the periodic table of the elements.", "Who devised the periodic table of the elements?"),
    ("Charles Darwin proposed the theory of evolution by natural selection.", "Who proposed the theory of evolution by natural selection?"),
    ("A light year is the distance that light travels in one year.", "What is a light year?"),
    ("The angles of a triangle add up to 180 degrees.", "What do the angles of a triangle add up to?"),
    ("Helium is the second lightest chemical element.", "Which chemical element is the second lightest?"),
    ("The Richter scale measures the magnitude of earthquakes.", "What does the Richter scale measure?"),
    ("Insulin is produced by the pancreas.", "Which organ produces insulin?"),
    ("Honey bees tell each other where flowers are with a waggle dance.", "How do honey bees tell each other where flowers are?"),
    ("The Nile is often named as the longest river in the world.", "Which river is often named as the longest in the world?"),
    ("Mount Everest is the highest mountain above sea level.", "What is the highest mountain above sea level?"),
    ("Canberra is the capital city of Australia.", "What is the capital city of Australia?"),
    ("The Sahara is the largest hot desert on Earth.", "What is the largest hot desert on Earth?"),
    ("The Pacific is the largest and deepest of the oceans.", "Which ocean is the largest and deepest?"),
    ("Lake Baikal in Siberia is the deepest lake in the world.", "Which lake is the deepest in the world?"),
    ("Ottawa is the capital city of Canada.", "What is the capital city of Canada?"),
    ("Most of the Amazon rainforest lies in Brazil.", "In which country does most of the Amazon rainforest lie?"),
    ("Vatican City is the smallest country in the world by area.", "What is the smallest country in the world by area?"),
    ("Tokyo is the capital city of Japan.", "What is the capital city of Japan?"),
    ("The Danube flows through ten countries before it reaches the Black Sea.", "Which river flows through ten countries before it reaches the Black Sea?"),
    ("Greenland is the largest island in the world.", "What is the largest island in the world?"),
    ("The Andes are the longest mountain range on any continent.", "What is the longest mountain range on any continent?"),
    ("Brasilia replaced Rio de Janeiro as the capital of Brazil in 1960.", "When did Brasilia become the capital of Brazil?"),
    ("The Dead Sea is one of the saltiest bodies of water on Earth.", "Which body of water is one of the saltiest on Earth?"),
    ("Angel Falls in Venezuela is the highest uninterrupted waterfall in the world.", "Where is the highest uninterrupted waterfall in the world?"),
    ("The Strait of Gibraltar separates Europe from Africa.", "Which strait separates Europe from Africa?"),
    ("Russia is the largest country in the world by area.", "Which country is the largest in the world by area?"),
    ("The Great Barrier Reef lies off the coast of Queensland in Australia.", "Where does the Great Barrier Reef lie?"),
    ("Mount Kilimanjaro is the highest mountain in Africa.", "What is the highest mountain in Africa?"),
    ("The Berlin Wall fell in November 1989.", "When did the Berlin Wall fall?"),
    ("King John sealed the Magna Carta in 1215.", "Which king sealed the Magna Carta?"),
    ("The first modern Olympic Games were held in Athens in 1896.", "Where were the first modern Olympic Games held?"),
    ("Julius Caesar was assassinated on the Ides of March in 44 BC.", "When was Julius Caesar assassinated?"),
    ("Johannes Gutenberg developed the printing press with movable type.", "Who developed the printing press with movable type?"),
    ("Christopher Columbus first crossed the Atlantic in 1492.", "In which year did Christopher Columbus first cross the Atlantic?"),
    ("The French Revolution began in 1789 with the storming of the Bastille.", "How did the French Revolution begin?"),
    ("The Titanic sank in April 1912 after striking an iceberg.", "When did the Titanic sink?"),
    ("The Wright brothers made the first powered aeroplane flight in 1903.", "Who made the first powered aeroplane flight?"),
    ("The Great Wall of China was built over many centuries to keep out invaders from the north.", "Why was the Great Wall of China built?"),
    ("Nelson Mandela became president of South Africa in 1994.", "When did Nelson Mandela become president of South Africa?"),
    ("The Battle of Hastings was fought in 1066.", "In which year was the Battle of Hastings fought?"),
    ("The Roman emperor Constantine founded the city of Constantinople.", "Who founded the city of Constantinople?"),
    ("The American Declaration of Independence was adopted on 4 July 1776.", "When was the American Declaration of Independence adopted?"),
    ("Cleopatra was the last active ruler of the Ptolemaic Kingdom of Egypt.", "Who was the last active ruler of the Ptolemaic Kingdom of Egypt?"),
    ("The Rosetta Stone helped scholars decipher Egyptian hieroglyphs.", "What helped scholars decipher Egyptian hieroglyphs?"),
    ("The Black Death swept through Europe in the middle of the fourteenth century.", "When did the Black Death sweep through Europe?"),
    ("Genghis Khan founded the Mongol Empire.", "Who founded the Mongol Empire?"),
    ("The Suez Canal, opened in 1869, links the Mediterranean Sea to the Red Sea.", "Which seas does the Suez Canal link?"),
    ("Queen Victoria reigned over the United Kingdom for 63 years.", "How long did Queen Victoria reign?"),
    ("The Mona Lisa was painted by Leonardo da Vinci.", "Who painted the Mona Lisa?"),
    ("Vincent van Gogh painted The Starry Night in 1889.", "Who painted The Starry Night?"),
    ("Pride and Prejudice was written by Jane Austen.", "Who wrote Pride and Prejudice?"),
    ("Michelangelo painted the ceiling of the Sistine Chapel.", "Who painted the ceiling of the Sistine Chapel?"),
    ("Ludwig van Beethoven composed nine symphonies.", "How many symphonies did Beethoven compose?"),
    ("Don Quixote was written by Miguel de Cervantes.", "Who wrote Don Quixote?"),
    ("Pablo Picasso painted Guernica in 1937.", "Who painted Guernica?"),
    ("The opera The Magic Flute was composed by Wolfgang Amadeus Mozart.", "Who composed the opera The Magic Flute?"),
    ("War and Peace is a novel by Leo Tolstoy.", "Who wrote the novel War and Peace?"),
    ("The Thinker is a bronze sculpture by Auguste Rodin.", "Who made the sculpture The Thinker?"),
    ("Hamlet is a tragedy written by William Shakespeare.", "Who wrote the tragedy Hamlet?"),
    ("Girl with a Pearl Earring was painted by Johannes Vermeer.", "Who painted Girl with a Pearl Earring?"),
    ("The Four Seasons is a set of violin concertos by Antonio Vivaldi.", "Who composed The Four Seasons?"),
    ("One Hundred Years of Solitude was written by Gabriel Garcia Marquez.", "Who wrote One Hundred Years of Solitude?"),
    ("The Scream was painted by Edvard Munch.", "Who painted The Scream?"),
    ("Sushi began in Japan as a way of preserving fish in fermented rice.", "How did sushi begin?"),
    ("Coffee beans are the seeds found inside the cherries of the coffee plant.", "What are coffee beans?"),
    ("A chess board has 64 squares.", "How many squares does a chess board have?"),
    ("Saffron, the most expensive spice by weight, comes from crocus flowers.", "Which flowers does saffron come from?"),
    ("The cheetah is the fastest land animal.", "What is the fastest land animal?"),
    ("The blue whale is the largest animal known to have ever lived.", "What is the largest animal known to have ever lived?"),
    ("An octopus has three hearts.", "How many hearts does an octopus have?"),
    ("A marathon race is 42.195 kilometres long.", "How long is a marathon race?"),
    ("The Eiffel Tower was completed in 1889 for the World's Fair in Paris.", "When was the Eiffel Tower completed?"),
    ("Basketball was invented by James Naismith in 1891.", "Who invented basketball?"),
    ("A standard piano has 88 keys.", "How many keys does a standard piano have?"),
    ("Kangaroos carry their young in a pouch.", "Where do kangaroos carry their young?"),
    ("Bamboo is one of the fastest growing plants in the world.", "Which plant is one of the fastest growing in the world?"),
    ("Alexander Graham Bell patented the telephone in 1876.", "Who patented the telephone?"),
    ("Tim Berners-Lee invented the World Wide Web.", "Who invented the World Wide Web?"),
    ("The ostrich lays the largest eggs of any living bird.", "Which living bird lays the largest eggs?"),
    ("A group of crows is called a murder.", "What is a group of crows called?"),
    ("The violin usually has four strings.", "How many strings does a violin usually have?"),
    ("Paper was first made in China about two thousand years ago.", "Where was paper first made?"),
)


def build_passkey(tokenizer, *, lengths: Sequence[int] = DEFAULT_LENGTHS, n_queries: int = 50,
                  n_candidates: int = 100, seed: int = 0, verify_docs: int = 2) -> dict[int, RetrievalData]:
    """One ``passkey_<L>`` pool per length L (exact tokens of ``tokenizer``); see the module docstring.

    ``verify_docs`` documents per length are re-tokenized whole as a check of the length arithmetic (an
    error beyond ``LENGTH_TOLERANCE`` raises; the largest error seen is kept in ``info["length_check"]``).
    """
    max_len = max(lengths) if lengths else 0
    hay = _tokenized_prefix(tokenizer, filler_text(max_len * 8), max_len)
    names = [f"{f} {l}" for f in FIRST_NAMES for l in LAST_NAMES]
    _check_sizes(n_queries, n_candidates, len(names), "person names")

    def pick(rng: random.Random):
        people = rng.sample(names, n_candidates)
        keys = rng.sample(range(10000, 100000), n_candidates)
        inserts = [PASSKEY_TEMPLATE.format(name=p, key=k) for p, k in zip(people, keys)]
        queries = [PASSKEY_QUERY.format(name=p) for p in people]
        meta = [{"name": p, "passkey": str(k)} for p, k in zip(people, keys)]
        return inserts, queries, meta

    construction = {"filler": FILLER, "template": PASSKEY_TEMPLATE, "query": PASSKEY_QUERY}
    return {L: _build_pool("passkey", f"passkey_{L}", tokenizer, hay, L, pick, n_queries, n_candidates, seed,
                           verify_docs, {}, "synthetic (LongEmbed personalized passkey construction)", construction)
            for L in lengths}


def build_needle(tokenizer, *, haystack: str = "bbc", lengths: Sequence[int] = DEFAULT_LENGTHS,
                 n_queries: int = 50, n_candidates: int = 100, seed: int = 0, haystack_path=None,
                 verify_docs: int = 2) -> dict[int, RetrievalData]:
    """One ``needle_<haystack>_<L>`` pool per length L; ``haystack`` is ``"bbc"`` or ``"paul_graham"``.

    ``haystack_path`` overrides where the BBC folder / ``essays.jsonl`` is read from.
    """
    if haystack == "bbc":
        text, checksums, source = bbc_haystack(seed, root=haystack_path)
    elif haystack == "paul_graham":
        text, checksums, source = paul_graham_haystack(seed, path=haystack_path)
    else:
        raise LmkbenchError(f"unknown haystack {haystack!r}; choose one of {', '.join(HAYSTACKS)}")
    _check_sizes(n_queries, n_candidates, len(NEEDLES), "needle facts")
    max_len = max(lengths) if lengths else 0
    hay = _tokenized_prefix(tokenizer, text, max_len)

    def pick(rng: random.Random):
        chosen = rng.sample(range(len(NEEDLES)), n_candidates)
        return ([NEEDLES[i][0] for i in chosen], [NEEDLES[i][1] for i in chosen],
                [{"needle": NEEDLES[i][0], "needle_index": i} for i in chosen])

    construction = {"haystack": haystack, "haystack_order_seed": seed}
    return {L: _build_pool("needle", f"needle_{haystack}_{L}", tokenizer, hay, L, pick, n_queries, n_candidates,
                           seed, verify_docs, checksums, f"synthetic needle-in-a-haystack over {source}",
                           construction)
            for L in lengths}


def data_fingerprint(data: RetrievalData) -> str:
    """sha256 of corpus, queries, qrels and query_meta: equal fingerprints mean identical task content."""
    blob = json.dumps([data.corpus, data.queries, data.qrels, data.query_meta], sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _build_pool(kind, name, tokenizer, hay: TokenizedText, target: int, pick, n_queries, n_candidates, seed,
                verify_docs, checksums, source, construction) -> RetrievalData:
    rng = random.Random(f"{kind}:{seed}:{target}")
    inserts, query_texts, item_meta = pick(rng)
    depths = [rng.random() for _ in inserts]
    gold = sorted(rng.sample(range(n_candidates), n_queries))
    placements, doc_tokens = place(tokenizer, hay, target, inserts, depths)
    texts = [p.text(hay) for p in placements]
    checked = rng.sample(range(n_candidates), min(verify_docs, n_candidates))
    measured = check_lengths(tokenizer, [texts[i] for i in checked], [doc_tokens[i] for i in checked],
                             tolerance=LENGTH_TOLERANCE)
    doc_ids = [f"{name}-d{i:03d}" for i in range(n_candidates)]
    corpus = {d: ("", t) for d, t in zip(doc_ids, texts)}
    queries, qrels, meta = {}, {}, {}
    for j, i in enumerate(gold):
        qid = f"{name}-q{j:02d}"
        queries[qid] = query_texts[i]
        qrels[qid] = {doc_ids[i]: 1}
        meta[qid] = {"target_length": target, "doc_tokens": doc_tokens[i],
                     "depth": round(placements[i].depth(), 6), "gold_doc": doc_ids[i], **item_meta[i]}
    data = RetrievalData(
        name=name, split="test", corpus=corpus, queries=queries, qrels=qrels, query_meta=meta,
        checksums=dict(checksums), source=source, main_metric="acc_at_1",
        info={
            "kind": kind, "target_length": target, "seed": seed, "n_queries": n_queries,
            "n_candidates": n_candidates,
            "tokenizer": getattr(tokenizer, "name_or_path", type(tokenizer).__name__),
            "doc_tokens_min": min(doc_tokens), "doc_tokens_max": max(doc_tokens),
            "length_unit": "content tokens of the tokenizer (no special tokens)",
            "length_check": {"docs_retokenized": len(checked),
                             "max_abs_error": max((abs(m - doc_tokens[i]) for m, i in zip(measured, checked)),
                                                  default=0)},
            "construction": construction,
        },
    )
    data.info["fingerprint"] = data_fingerprint(data)
    return data


def _tokenized_prefix(tokenizer, text: str, n_tokens: int) -> TokenizedText:
    """Tokenize only as much of ``text`` as needed for ``n_tokens`` (plus room for the window logic)."""
    need = n_tokens + 64
    chars = max(need * 6, 4096)
    while True:
        if chars >= len(text):
            cut = text
        else:
            space = text.rfind(" ", 0, chars)
            cut = text[:space if space > 0 else chars]
        hay = tokenize_text(tokenizer, cut)
        if len(hay) >= need or cut is text:
            break
        chars *= 2
    if len(hay) < n_tokens:
        raise LmkbenchError(f"haystack has only {len(hay)} tokens; {n_tokens} needed")
    return hay


def _check_sizes(n_queries: int, n_candidates: int, available: int, what: str) -> None:
    if not 1 <= n_queries <= n_candidates:
        raise LmkbenchError(f"need 1 <= n_queries <= n_candidates, got {n_queries} and {n_candidates}")
    if n_candidates > available:
        raise LmkbenchError(f"n_candidates={n_candidates} exceeds the {available} {what} available")
