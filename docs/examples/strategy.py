"""A new long-document strategy: encode only a document's head and tail chunks (MaxP or mean over the two)."""
import lmkbench
from lmkbench.inputs import PlainFamily
from lmkbench.poolings import POOLINGS
from lmkbench.strategies import STRATEGY_PARAMS, ChunkFamily, ChunkStrategy, chunk_room


class HeadTailFamily(ChunkFamily):
    """The first and the last ``size`` − framing content tokens, each framed as the plain inputs."""

    covers_all = False      # the middle of a long document is never read: results count it as cut

    @property
    def key(self):
        return f"headtail:size={self.size}"

    def build(self, content, sp, max_length, policy):
        room, ids = chunk_room(self.size, sp), content.ids
        frame = PlainFamily().frame
        if len(ids) <= room:
            return [frame(ids, sp)], False
        return [frame(ids[:room], sp), frame(ids[-room:], sp)], True


@POOLINGS.register("headtail", params=STRATEGY_PARAMS, help="head and tail chunks of a document; agg=max|mean")
class HeadTail(ChunkStrategy):
    # layout (one unit per chunk, owned by its document), spec_for (queries use `pool`) come from ChunkStrategy
    def family(self):
        return HeadTailFamily(int(self.spec.get("size")))


def main():
    settings = lmkbench.EncoderSettings.of(max_length=64, device="cpu", cache_dir=False)
    encoder = lmkbench.PooledEncoder("minilm", settings, progress=False)
    docs = ["short document", " ".join(f"word{i}" for i in range(300))]
    out = encoder.encode(docs, ["headtail:size=32,agg=max", "headtail:size=32,agg=mean"])
    for name, vectors in out.embeddings.items():
        print(name, vectors.shape, "row owners:", out.owners.get(name))


if __name__ == "__main__":
    main()
