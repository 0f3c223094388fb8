"""A new pooling: the mean of the first k hidden states, registered and used like the built-in ones."""
import torch

import lmkbench
from lmkbench.errors import LmkbenchError
from lmkbench.params import Param, to_int
from lmkbench.poolings import POOLINGS, Pooling, make_pooling


@POOLINGS.register("first_k", params={"k": Param(to_int, 8, "leading tokens averaged", ge=1)},
                   help="mean of the first k hidden states")
class FirstK(Pooling):
    # family(): the plain inputs ([CLS] text [SEP]), shared with cls/mean/last in one forward pass

    def weights(self, attention_mask, marks):
        """Weight 1 on the first k real tokens of every sequence, 0 elsewhere."""
        k = int(self.spec.get("k"))
        first = torch.arange(attention_mask.shape[1], device=attention_mask.device) < k
        return (attention_mask & first).float()


def main():
    assert str(make_pooling("first_k").spec) == "first_k:k=8"          # the canonical spec (file names, columns)
    settings = lmkbench.EncoderSettings.of(max_length=64, device="cpu", cache_dir=False)
    encoder = lmkbench.PooledEncoder("minilm", settings, progress=False)
    out = encoder.encode(["landmarks summarise chunks", "a second text"], ["first_k:k=4", "mean"])
    print({name: vectors.shape for name, vectors in out.embeddings.items()})
    for wrong in ("first_kk:k=4", "first_k:kk=4"):                     # one error, with "did you mean"
        try:
            make_pooling(wrong)
        except LmkbenchError as exc:
            print(exc)


if __name__ == "__main__":
    main()
