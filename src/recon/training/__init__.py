"""Post-training on TRL: SFT (`recon.training.sft`) then GRPO (`recon.training.grpo`), configured by recipes
(`recipes/`) parsed with TRL's own config classes plus `ReconScriptArguments`."""
