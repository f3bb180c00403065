"""Length buckets: SFT batches of rows of similar length (little padding) in a uniformly random batch order.

transformers' `group_by_length` (`LengthGroupedSampler`) also cuts padding, but it sorts each mega-batch of
50 batches long → short and keeps that order, so training walks from long to short rows again and again, and a
short run can end on a block of the shortest rows (in the CPU demo, answer-only rows that undid the worked
solutions learned before them). Here the batches are cut the same way (shuffle, mega-batches sorted by length,
cut into batches) and then the order of the batches is shuffled, so batch length has no trend over training."""

from __future__ import annotations

import random
from typing import Iterator, Sequence

from torch.utils.data import Sampler

MEGA_BATCH_MULT = 50  # batches per sorted mega-batch, as transformers' LengthGroupedSampler


def length_bucket_batches(lengths: Sequence[int], batch_size: int, seed: int | str, mega_batch_mult: int = MEGA_BATCH_MULT) -> list[list[int]]:
    """Every index of `lengths` once, in batches of `batch_size` of similar length, in random order (the same
    for the same `seed`). Indices are shuffled, cut into mega-batches of `mega_batch_mult` batches (0: one
    mega-batch of all rows), each sorted by length and cut into batches; the full batches are then shuffled.
    The one short batch (when `batch_size` does not divide the rows) comes last, so every batch before it
    starts at a multiple of `batch_size` in the flattened order (the DataLoader cuts the same batches)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rng = random.Random(f"length-buckets:{seed}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = mega_batch_mult * batch_size if mega_batch_mult > 0 else max(len(order), 1)
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        ranked = sorted(order[start : start + mega], key=lambda i: lengths[i])
        batches += [ranked[i : i + batch_size] for i in range(0, len(ranked), batch_size)]
    short = [b for b in batches if len(b) < batch_size]  # at most one: only the last mega-batch can be short
    full = [b for b in batches if len(b) == batch_size]
    rng.shuffle(full)
    return full + short


class LengthBucketSampler(Sampler[int]):
    """Indices for a DataLoader of `batch_size`: each consecutive `batch_size` indices are rows of similar length
    and the batches come in random order (`length_bucket_batches`). A new order every epoch (`set_epoch`, which
    the Trainer calls), deterministic for a given seed and epoch, so a resumed run skips the very batches it
    trained on. `batch_size` should be what one optimizer step consumes over all processes (per device ×
    processes × accumulation): a whole step is then one bucket, and each per-device batch a slice of it."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, mega_batch_mult: int = MEGA_BATCH_MULT):
        self.lengths = [int(n) for n in lengths]
        self.batch_size = batch_size
        self.seed = seed
        self.mega_batch_mult = mega_batch_mult
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        return length_bucket_batches(self.lengths, self.batch_size, f"{self.seed}:{self.epoch}", self.mega_batch_mult)

    def __iter__(self) -> Iterator[int]:
        return iter([i for batch in self.batches() for i in batch])

    def __len__(self) -> int:
        return len(self.lengths)

