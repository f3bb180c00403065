"""Generation-time helpers for training: stop a completion as soon as its answer is complete."""

from __future__ import annotations

from typing import Any


def answer_stop_processor(tokenizer, prompt_width: int, eos_token_id: int, think: str):
    """A logits processor that forces EOS right after a completion's final `\\boxed{…}` closes
    (after `</think>` when the completion thinks: `think` is `required` or the prompt opened `<think>`), so GRPO does not pay for tokens after the answer.
    Forcing EOS (rather than stopping) keeps the completion mask right whatever the pad token is."""
    import torch
    from transformers import LogitsProcessor

    from recon.inference.base import answer_complete, think_state

    class AnswerStop(LogitsProcessor):
        def __init__(self):
            self.done: torch.Tensor | None = None
            self.thinking: list[bool] = []

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            generated = input_ids[:, prompt_width:]
            if generated.shape[1] == 0:
                return scores
            if self.done is None:
                self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool)
                # The thinking rule of eval and games (`think_state`): a prompt whose template already
                # opened `<think>` (DeepSeek-R1's) makes every completion thinking, whatever `think` says.
                prompts = tokenizer.batch_decode(input_ids[:, :prompt_width], skip_special_tokens=False)
                self.thinking = [think_state(prompt, think == "required").thinking for prompt in prompts]
            last = tokenizer.batch_decode(generated[:, -1:])
            for row, piece in enumerate(last):
                if "}" in piece and not self.done[row]:
                    text = tokenizer.decode(generated[row], skip_special_tokens=False)
                    thinking = self.thinking[row] or (think == "optional" and "</think>" in text)
                    self.done[row] = answer_complete(text, thinking)
            if self.done.any():
                rows = self.done.nonzero(as_tuple=True)[0].to(scores.device)
                scores[rows] = float("-inf")
                scores[rows, eos_token_id] = 0.0
            return scores

    return AnswerStop()


def install_answer_stop(model, tokenizer, think: str) -> None:
    """Wrap `model.generate` so every call also gets a fresh `answer_stop_processor`."""
    from transformers import LogitsProcessorList

    original = model.generate
    eos = tokenizer.eos_token_id

    def generate(*args: Any, **kwargs: Any):
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        processors = LogitsProcessorList(kwargs.pop("logits_processor", None) or [])
        processors.append(answer_stop_processor(tokenizer, input_ids.shape[1], eos, think))
        return original(*args, logits_processor=processors, **kwargs)

    model.generate = generate
