"""`python -m recon.inference.llamacpp_server …` = `python -m llama_cpp.server …` with plain CPU buffers
(see `use_plain_cpu_buffers`): an OpenAI-compatible server for the `openai` backend."""

from __future__ import annotations

import runpy

from recon.inference.llamacpp import import_llama_cpp, use_plain_cpu_buffers

if __name__ == "__main__":
    import_llama_cpp()
    use_plain_cpu_buffers()
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
