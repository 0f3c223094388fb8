"""A new positions method: clamp every position past the table to its last row (learned absolute positions)."""
import numpy as np

import lmkbench
from lmkbench.positions import POSITIONS, PositionMethod, position_offset, restore_native


@POSITIONS.register("clamp")
class Clamped(PositionMethod):
    """clamped positions: token t gets position min(t, P − 1)"""

    fits = "absolute"          # BERT-style position tables; refused (one error) on RoPE models

    def max_positions(self, limit):
        return None            # any max length

    def install(self, model, limit, max_length):
        restore_native(model)  # undo another method installed on the same model
        self.offset = position_offset(model)   # RoPE-free models whose ids start after padding (RoBERTa)

    @property
    def zero_token_types(self):
        return True            # BERT's token_type_ids buffer stops at P

    def position_ids(self, lengths, width, limit):
        t = np.arange(width, dtype=np.int64)[None, :].repeat(len(lengths), 0)
        return np.minimum(t, limit - 1) + self.offset


def main():
    settings = lmkbench.EncoderSettings.of(max_length=1024, positions="clamp", device="cpu", cache_dir=False)
    encoder = lmkbench.PooledEncoder("minilm", settings, progress=False)
    out = encoder.encode([" ".join(["long"] * 900), "short"], ["mean"])
    print(out.embeddings["mean"].shape, "content tokens:", out.token_counts.tolist())


if __name__ == "__main__":
    main()
