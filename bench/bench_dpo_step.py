"""Time one DPO training step through the project's trainer vs plain PyTorch.

Same tiny GPT-NeoX, same batch (32 pairs), one thread. Plain PyTorch does the DPO forward
(chosen and rejected concatenated), backward and AdamW step by hand; the project's trainer is
TRL's DPOTrainer with precomputed (tempered) reference log-probs. Target: ratio <= 2x.
Run: .venv/bin/python bench/bench_dpo_step.py
"""

import tempfile
import time

import torch

from allroads import models, toytask, training
from allroads.logprobs import completion_logps
from allroads.losses import dpo_loss
from allroads.tasks.facts import FactsTask

torch.set_num_threads(1)
STEPS, BATCH = 20, 32
ARCH = {"hidden_size": 64, "num_layers": 2, "num_heads": 4}

cfg = dict(splits=dict(sft_train=1, sft_val=1, sft_test=1, pft_train=BATCH * (STEPS + 2), pft_val=1),
           salient_facts=[2, 3], distractor_facts=[3, 4], reference_noise=0.3, label_temperature=1.1)  # fmt: skip
rows = toytask.build_splits(cfg, 0)["pft_train"]
tok = FactsTask.tokenizer()
tmp = tempfile.mkdtemp()
models.save(models.init_tiny_model(ARCH, tok, 0), tok, tmp)
hp = {"epochs": 1, "batch_size": BATCH, "lr": 1e-4, "beta": 0.1, "logging_steps": 1000}

trainer, _ = training.make_dpo_trainer(
    tmp, rows, hp, 0, "fp32", tmp + "/out", ref_dir=tmp, ref_temperature=0.1
)
step_times = []
from transformers import TrainerCallback  # noqa: E402


class Timer(TrainerCallback):
    def on_step_begin(self, *a, **k):
        self.t = time.perf_counter()

    def on_step_end(self, *a, **k):
        step_times.append(time.perf_counter() - self.t)


trainer.add_callback(Timer())
t0 = time.perf_counter()
trainer.train()
train_wall = time.perf_counter() - t0
project = sorted(step_times[2:])[len(step_times[2:]) // 2]

# plain PyTorch on the same collated batches
model = models.load_policy(tmp).train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
loader = torch.utils.data.DataLoader(
    trainer.train_dataset, batch_size=BATCH, collate_fn=trainer.data_collator
)
plain_times = []
for batch in loader:
    t = time.perf_counter()
    lp = completion_logps(
        model, batch["input_ids"], batch["attention_mask"], batch["completion_mask"]
    )
    c, r = lp.chunk(2)
    loss = dpo_loss(c, r, batch["ref_chosen_logps"], batch["ref_rejected_logps"], 0.1)
    loss.backward()
    opt.step()
    opt.zero_grad()
    plain_times.append(time.perf_counter() - t)
plain = sorted(plain_times[2:])[len(plain_times[2:]) // 2]
print(f"DPO step, batch {BATCH} pairs, tiny GPT-NeoX {ARCH}, 1 thread (median)")
print(f"  project trainer (TRL DPOTrainer subclass): {project * 1000:.0f} ms")
print(f"  plain PyTorch forward/backward/step:       {plain * 1000:.0f} ms")
print(f"  ratio: {project / plain:.2f}x (target <= 2x)")
print(f"  whole trainer.train() for {len(step_times)} steps: {train_wall:.1f} s")
