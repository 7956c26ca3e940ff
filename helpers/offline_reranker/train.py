"""Fine-tune a cross-encoder with sentence-transformers' CrossEncoderTrainer (notebook 06).

The model starts from a bi-encoder's weights with a new, random one-logit head. The trainer's
defaults (one learning rate for everything) left that head near random here, so the head gets
its own, larger learning rate through the trainer's ``optimizers=``, and the lowest layers are
frozen (faster steps, less forgetting). The loss is ``ListNetLoss`` over each query's list.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
import warnings

from helpers.offline_reranker.recipe import SEED, Recipe

QUIET_LOGGERS = ("sentence_transformers", "transformers", "datasets", "accelerate")


def quiet() -> None:
    """Silence progress bars, load reports and notices (the notebooks must not show them)."""
    from datasets.utils.logging import disable_progress_bar
    from transformers.utils import logging as hf_logging

    disable_progress_bar()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(transformers|accelerate|torch)\b")


def load_start(model_path: str, max_length: int, num_labels: int = 1):
    """Load ``model_path`` as a CrossEncoder on the CPU in fp32 (a new one-logit head if needed)."""
    import torch
    from sentence_transformers import CrossEncoder

    quiet()
    torch.manual_seed(SEED)  # the new head's initial weights
    return CrossEncoder(
        model_path,
        num_labels=num_labels,
        max_length=max_length,
        device="cpu",
        model_kwargs={"dtype": torch.float32},
    )


def freeze_lower(model, layers: int) -> None:
    """Freeze the embeddings and the lowest ``layers`` transformer layers (no-op for 0)."""
    if not layers:
        return
    body = model[0].model.base_model  # the Hugging Face model inside the CrossEncoder
    encoder_layers = getattr(getattr(body, "encoder", None), "layer", None)
    if encoder_layers is None:  # not a BERT-like body: freeze nothing rather than guess
        return
    for module in [body.embeddings, *encoder_layers[:layers]]:
        module.requires_grad_(False)


def make_optimizer(model, recipe: Recipe):
    """Return AdamW with two groups: the new head (fast learning rate) and the encoder."""
    import torch

    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head = [p for n, p in named if "classifier" in n or ".score." in n]
    rest = [p for n, p in named if not ("classifier" in n or ".score." in n)]
    groups = [{"params": head, "lr": recipe.head_learning_rate}]
    groups += [{"params": rest, "lr": recipe.learning_rate}] if rest else []
    return torch.optim.AdamW(groups, lr=recipe.learning_rate)


def training_arguments(output_dir: str, recipe: Recipe, eval_steps: int = 0, max_steps: int = -1):
    """Return CrossEncoderTrainingArguments: seeded, fp32, CPU, silent, nothing reported.

    With ``eval_steps``, the dev evaluator runs (and a checkpoint is kept) every that many steps.
    """
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments

    evaluate = eval_steps > 0
    every = "steps" if evaluate else "no"
    return CrossEncoderTrainingArguments(
        output_dir=output_dir,
        num_train_epochs=recipe.epochs,
        max_steps=max_steps,
        per_device_train_batch_size=recipe.batch_size,
        warmup_ratio=recipe.warmup,
        lr_scheduler_type="linear",
        max_grad_norm=1.0,
        seed=SEED,
        data_seed=SEED,
        use_cpu=True,
        bf16=False,
        fp16=False,
        dataloader_num_workers=0,
        eval_strategy=every,
        save_strategy=every,
        eval_steps=eval_steps or None,
        save_steps=eval_steps or 500,
        save_total_limit=2 if evaluate else None,
        load_best_model_at_end=evaluate,
        metric_for_best_model="eval_dev_ndcg@10" if evaluate else None,
        greater_is_better=True,
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        log_level="error",
        save_only_model=True,
    )


def train(model, dataset, recipe: Recipe, evaluator=None, max_steps: int = -1, progress=False):
    """Fine-tune ``model`` on ``dataset`` (query, passages, labels); return the trainer's state.

    With ``evaluator`` (a CrossEncoderRerankingEvaluator named "dev"), the model is evaluated at
    the middle and at the end of training and the checkpoint with the best dev nDCG@10 is kept
    (the full build trains 2 epochs: 10 minutes on 2 cores buy no more in fp32). Checkpoints go
    to a temporary folder, never into the repository. ``progress`` prints the step and the time
    left about every tenth of the run (`make models`, the command line; not in notebooks).
    """
    from sentence_transformers.cross_encoder import CrossEncoderTrainer
    from sentence_transformers.cross_encoder.losses import ListNetLoss

    quiet()
    freeze_lower(model, recipe.frozen_layers)
    loss = ListNetLoss(model)
    steps = (
        max_steps if max_steps > 0 else recipe.epochs * math.ceil(len(dataset) / recipe.batch_size)
    )
    eval_steps = math.ceil(steps / 2) if evaluator is not None else 0
    with tempfile.TemporaryDirectory(prefix="rerank-train-") as output_dir:
        trainer = CrossEncoderTrainer(
            model=model,
            args=training_arguments(output_dir, recipe, eval_steps, max_steps),
            train_dataset=dataset,
            loss=loss,
            evaluator=evaluator,
            optimizers=(make_optimizer(model, recipe), None),  # the trainer adds the schedule
            callbacks=[progress_printer()] if progress else None,
        )
        trainer.remove_callback(_printer_class())
        trainer.train()
    model.eval()
    return trainer.state


def progress_printer(every: float = 0.1):
    """Return a trainer callback that prints the step, the time so far and the time left."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.start, self.next = time.perf_counter(), every

        def on_step_end(self, args, state, control, **kwargs):
            done = state.global_step / max(state.max_steps, 1)
            if done < self.next and state.global_step < state.max_steps:
                return
            self.next = done + every
            spent = time.perf_counter() - self.start
            left = spent / done * (1 - done)  # steps so far set the pace; evaluations add a bit
            step = f"training: step {state.global_step} of {state.max_steps} ({done:.0%})"
            times = f"{spent:.0f} s so far, about {left:.0f} s left"
            print(f"{step}, {times}", flush=True)

    return Progress()


def _printer_class():
    from transformers.trainer_callback import PrinterCallback

    return PrinterCallback


def dev_evaluator(samples: list[dict]):
    """Return the library's reranking evaluator over ``samples`` (dev questions only)."""
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    return CrossEncoderRerankingEvaluator(
        samples, at_k=10, always_rerank_positives=False, name="dev", write_csv=False
    )
