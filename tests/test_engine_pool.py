"""`shared_engines`: backends of one base model share one engine inside the block; another base or setting
shuts the held engine down before its own starts; the block's end shuts it down (no vLLM needed here: the
real engine's version of this is in test_vllm_cpu.py)."""

from __future__ import annotations

from recon.inference import vllm_backend
from recon.inference.vllm_backend import shared_engines


class FakeEngine:
    def __init__(self, name: str, log: list):
        self.name, self.log = name, log
        log.append(f"start {name}")

    def shutdown(self):
        self.log.append(f"shutdown {self.name}")


def test_one_engine_per_key_and_shutdown_at_the_end():
    log: list[str] = []
    with shared_engines(max_lora_rank=16) as pool:
        first = pool.engine("base-a", lambda: FakeEngine("a", log))
        assert pool.engine("base-a", lambda: FakeEngine("a2", log)) is first
        assert [pool.adapter_id("/sft"), pool.adapter_id("/grpo"), pool.adapter_id("/sft")] == [1, 2, 1]
        pool.engine("base-b", lambda: FakeEngine("b", log))
        assert pool.adapter_ids == {} and pool.started == 2
        with shared_engines() as inner:  # nested: the outer block's pool
            assert inner is pool
        assert log == ["start a", "shutdown a", "start b"]
    assert log[-1] == "shutdown b" and vllm_backend._POOL is None


def test_the_engine_is_shut_down_when_the_block_fails():
    log: list[str] = []
    try:
        with shared_engines() as pool:
            pool.engine("k", lambda: FakeEngine("k", log))
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert log == ["start k", "shutdown k"] and vllm_backend._POOL is None
