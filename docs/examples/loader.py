"""A new task loader: question → answer retrieval from a .jsonl of {"question", "answer"} rows (``faq:PATH``)."""
import json
import tempfile
from pathlib import Path

import lmkbench
from lmkbench.api import evaluate
from lmkbench.data.types import RetrievalData
from lmkbench.params import Param, to_str
from lmkbench.tasks.loaders import Loader, file_sha256, register_loader


@register_loader
class FaqLoader(Loader):
    """question → answer pairs from a .jsonl file: each question's own answer is its one relevant document"""

    name = "faq"
    kinds = ("retrieval",)
    params = {"path": Param(to_str, None, "the .jsonl file")}
    path_params = ("path",)                    # relative to the task file's folder in a task file
    spec_help = "faq:PATH"

    def sources(self):                         # what availability and the sha256 pins look at
        return {"faq.jsonl": Path(self.p["path"])}

    def load(self, tokenizer=None):
        rows = [json.loads(line) for line in Path(self.p["path"]).read_text().splitlines() if line.strip()]
        return RetrievalData(
            name="faq", split="test",
            corpus={f"a{i}": ("", r["answer"]) for i, r in enumerate(rows)},
            queries={f"q{i}": r["question"] for i, r in enumerate(rows)},
            qrels={f"q{i}": {f"a{i}": 1} for i in range(len(rows))},
            checksums={"faq.jsonl": file_sha256(Path(self.p["path"]))}, source=f"faq:{self.p['path']}")

    @classmethod
    def from_spec(cls, arg, options):          # `--task faq:PATH` → one task named after the file
        return [{"name": f"faq_{Path(arg).stem}", "params": {"path": arg, **options}}]


def main():
    pairs = [("how do I reset my password", "Open settings, choose security, then reset password."),
             ("where is my parcel", "Track deliveries from the orders page."),
             ("can I pay by card", "We accept all major credit and debit cards."),
             ("how to cancel an order", "Orders can be cancelled from the orders page before shipping.")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shop.jsonl"
        path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in pairs))
        comparison = evaluate(model="minilm", poolings=["mean", "lmk"], tasks=[f"faq:{path}"],
                              out=Path(tmp) / "results", max_length=64, device="cpu")
        for record in lmkbench.load_results(Path(tmp) / "results"):
            print(record.task, record.pooling, round(record.value, 3))
        print(len(comparison.rows), "comparison rows")


if __name__ == "__main__":
    main()
