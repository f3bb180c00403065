"""Length buckets (`recon.training.sampling`): SFT batches of similar length in a random batch order, and the
Recon SFT trainer using them when `length_buckets` is set."""

from __future__ import annotations

import random
import statistics
from pathlib import Path
from typing import Sequence

import pytest

from recon.data.problem import write_jsonl
from recon.training.sampling import LengthBucketSampler, length_bucket_batches
from test_training import REPO, option_problem, tiny_args


def padding_share(lengths: Sequence[int], order: Sequence[int], batch_size: int) -> float:
    """Share of padding tokens when the rows in `order` are cut into consecutive batches of `batch_size`, each
    padded to its longest row."""
    real = padded = 0
    for start in range(0, len(order), batch_size):
        batch = [lengths[i] for i in order[start : start + batch_size]]
        real += sum(batch)
        padded += max(batch) * len(batch)
    return 1 - real / padded if padded else 0.0


def demo_like_lengths(n: int = 4300, seed: int = 0) -> list[int]:
    """Row lengths in tokens like the demo's SFT file: 150–600, worked solutions long, answer-only rows short."""
    rng = random.Random(seed)
    return [rng.randint(150, 330) if rng.random() < 0.3 else rng.randint(300, 600) for _ in range(n)]


def batch_means(lengths, order, batch_size) -> list[float]:
    return [statistics.mean(lengths[i] for i in order[s : s + batch_size]) for s in range(0, len(order), batch_size)]


def spearman(xs, ys) -> float:
    def ranks(values):
        out = [0.0] * len(values)
        for rank, i in enumerate(sorted(range(len(values)), key=values.__getitem__)):
            out[i] = float(rank)
        return out

    return statistics.correlation(ranks(xs), ranks(ys))


def length_grouped_order(lengths, batch_size, seed) -> list[int]:
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    return list(LengthGroupedSampler(batch_size, lengths=lengths, generator=torch.Generator().manual_seed(seed)))


# ---------------------------------------------------------------- the sampler


@pytest.mark.parametrize("n, batch_size, mult", [(4300, 4, 50), (103, 8, 50), (103, 8, 0), (5, 8, 50), (64, 4, 1)])
def test_every_index_once_in_aligned_batches(n, batch_size, mult):
    lengths = demo_like_lengths(n)
    batches = length_bucket_batches(lengths, batch_size, seed=1, mega_batch_mult=mult)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(n))
    # every batch but the last is full, so the DataLoader's consecutive batches are exactly these buckets
    assert all(len(b) == batch_size for b in batches[:-1]) and 0 < len(batches[-1]) <= batch_size


def test_order_is_deterministic_per_seed_and_epoch():
    lengths = demo_like_lengths(500)
    sampler = LengthBucketSampler(lengths, 4, seed=3407)
    first = list(sampler)
    assert first == list(LengthBucketSampler(lengths, 4, seed=3407)) == list(sampler)
    assert sorted(first) == list(range(500)) and len(sampler) == 500
    assert first != list(LengthBucketSampler(lengths, 4, seed=3408))
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(second) == list(range(500)) and second != first
    sampler.set_epoch(0)
    assert list(sampler) == first  # a resumed run sees the epoch it trained on


@pytest.mark.parametrize("batch_size", [4, 8])
def test_padding_well_below_random_batches(batch_size):
    lengths = demo_like_lengths()
    shuffled = list(range(len(lengths)))
    random.Random(5).shuffle(shuffled)
    rand = padding_share(lengths, shuffled, batch_size)
    ours = padding_share(lengths, list(LengthBucketSampler(lengths, batch_size, seed=5)), batch_size)
    grouped = padding_share(lengths, length_grouped_order(lengths, batch_size, 5), batch_size)
    assert rand > 0.15
    assert ours < rand / 2 and ours < 0.05
    assert ours <= grouped + 0.01  # as little as transformers' group_by_length


def test_padding_share_counts_pad_to_the_longest_row():
    assert padding_share([2, 4, 4, 4], [0, 1, 2, 3], 2) == pytest.approx(1 - 14 / 16)
    assert padding_share([3, 3, 5], [0, 1, 2], 2) == 0.0


def test_no_length_trend_over_training_unlike_length_grouped():
    """transformers' LengthGroupedSampler runs long → short inside every 50-batch mega-batch, so a run that stops
    at a mega-batch's end ends on its shortest rows; length buckets have no trend anywhere."""
    lengths, batch_size = demo_like_lengths(), 4
    for seed in (0, 1, 2):
        ours = batch_means(lengths, list(LengthBucketSampler(lengths, batch_size, seed=seed)), batch_size)
        grouped = batch_means(lengths, length_grouped_order(lengths, batch_size, seed), batch_size)
        assert len(ours) > 1000
        assert abs(spearman(range(len(ours)), ours)) < 0.1
        # inside windows of 50 batches (a mega-batch for LengthGroupedSampler)
        windows = [range(s, s + 50) for s in range(0, len(ours) - 49, 50)]
        ours_rho = [spearman(list(w), [ours[i] for i in w]) for w in windows]
        grouped_rho = [spearman(list(w), [grouped[i] for i in w]) for w in windows]
        assert statistics.mean(grouped_rho) < -0.9
        assert abs(statistics.mean(ours_rho)) < 0.1 and max(abs(r) for r in ours_rho) < 0.6
        # a run stopping after 2 mega-batches (100 steps): its last 10 batches
        mean = statistics.mean(lengths)
        assert statistics.mean(grouped[90:100]) < 0.75 * mean
        assert abs(statistics.mean(ours[90:100]) - mean) < 0.2 * mean


# ---------------------------------------------------------------- the SFT trainer


@pytest.fixture()
def varied_problems(tmp_path) -> Path:
    """Worked solutions of very different lengths, so batch lengths differ."""
    problems = []
    for i in range(24):
        p = option_problem(i)
        p.meta["solution"] = f"<think>{' step' * (3 + 17 * (i % 6))}</think> \\boxed{{{p.gold}}}"
        problems.append(p)
    path = tmp_path / "varied.jsonl"
    write_jsonl(problems, path)
    return path


def sft_trainer(model_dir, data, out, **overrides):
    from recon.training.args import parse_args
    from recon.training.sft import build_sft_trainer

    script, config, model_cfg = parse_args("sft", tiny_args(model_dir, data, out, max_length=160, **overrides))
    return script, config, build_sft_trainer(script, config, model_cfg)


def dataloader_sampler(loader):
    """The index sampler inside accelerate's prepared DataLoader."""
    batch_sampler = loader.batch_sampler
    return getattr(batch_sampler, "sampler", None) or batch_sampler.batch_sampler.sampler


def test_sft_trainer_batches_come_from_length_buckets(tiny_model_dir, varied_problems, tmp_path):
    _, config, trainer = sft_trainer(tiny_model_dir, varied_problems, tmp_path / "on", length_buckets="true",
                                     per_device_train_batch_size=2, gradient_accumulation_steps=2)  # fmt: skip
    loader = trainer.get_train_dataloader()
    sampler = dataloader_sampler(loader)
    assert isinstance(sampler, LengthBucketSampler)
    assert sampler.batch_size == 4 and sampler.seed == config.seed  # one optimizer step = one bucket
    lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    assert sampler.lengths == lengths
    order = list(sampler)
    got = [b["attention_mask"].sum(dim=1).tolist() for b in loader]
    assert got == [[lengths[i] for i in order[s : s + 2]] for s in range(0, len(order), 2)]
    assert padding_share(lengths, order, 2) < padding_share(lengths, list(range(len(lengths))), 2) / 2


def test_length_buckets_weigh_a_token_the_same_in_every_bucket(tiny_model_dir, varied_problems, tmp_path):
    """The loss of a length-bucket step is divided by rows × the dataset's mean scored tokens per row, not by the
    step's own count: a short bucket's tokens weigh no more than a long one's, and over an epoch the divisors add
    up to the tokens scored. Without length buckets the trainer's own count stays."""
    _, _, trainer = sft_trainer(tiny_model_dir, varied_problems, tmp_path / "on", length_buckets="true",
                                per_device_train_batch_size=2)  # fmt: skip
    batches = list(trainer.get_train_dataloader())
    own = [int(b["labels"][..., 1:].ne(-100).sum()) for b in batches]
    assert max(own) > 2.5 * min(own)  # buckets of very different lengths
    per_row = sum(sum(x != -100 for x in row[1:]) for row in trainer.train_dataset["labels"]) / len(trainer.train_dataset)
    divisors = [float(trainer._get_num_items_in_batch([b], "cpu")) for b in batches]
    assert divisors == pytest.approx([len(b["labels"]) * per_row for b in batches])
    assert sum(divisors) == pytest.approx(sum(own))
    assert float(trainer._get_num_items_in_batch(batches[:2], "cpu")) == pytest.approx(divisors[0] + divisors[1])

    _, _, plain = sft_trainer(tiny_model_dir, varied_problems, tmp_path / "off", per_device_train_batch_size=2)
    assert [int(plain._get_num_items_in_batch([b], "cpu")) for b in batches] == own


@pytest.mark.parametrize("strategy", ["random", "group_by_length"])
def test_sft_trainer_without_length_buckets_keeps_transformers_sampler(tiny_model_dir, varied_problems, tmp_path, strategy):
    from torch.utils.data import RandomSampler
    from transformers.trainer_pt_utils import LengthGroupedSampler

    script, _, trainer = sft_trainer(tiny_model_dir, varied_problems, tmp_path / strategy, train_sampling_strategy=strategy)
    assert script.length_buckets is False
    sampler = dataloader_sampler(trainer.get_train_dataloader())
    assert isinstance(sampler, {"random": RandomSampler, "group_by_length": LengthGroupedSampler}[strategy])


def test_sft_trains_on_length_buckets(tiny_model_dir, varied_problems, tmp_path):
    import math

    _, _, trainer = sft_trainer(tiny_model_dir, varied_problems, tmp_path / "train", length_buckets="true",
                                save_strategy="no", max_steps=3, gradient_accumulation_steps=2)  # fmt: skip
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)


def test_cpu_demo_sft_uses_length_buckets():
    import yaml

    args = yaml.safe_load((REPO / "recipes" / "presets" / "cpu-demo.yaml").read_text())["sft"]["args"]
    assert args["length_buckets"] is True and args.get("train_sampling_strategy", "random") != "group_by_length"


def test_bench_padding_rows_report_length_buckets(tiny_model_dir, varied_problems):
    import importlib.util
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location("train_step_bench", REPO / "bench" / "train_step.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = {r["batches"]: r for r in bench.padding_rows(str(varied_problems), str(tiny_model_dir), 2)}
    assert list(rows) == ["random, batch 2", "group_by_length, batch 2", "length_buckets, batch 2"]
    assert len({r["sequence_tokens"] for r in rows.values()}) == 1  # the same rows, batched differently
    ours, rand = rows["length_buckets, batch 2"]["padding_share"], rows["random, batch 2"]["padding_share"]
    assert ours < rand / 2 and ours <= rows["group_by_length, batch 2"]["padding_share"] + 0.01
