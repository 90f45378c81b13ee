"""``neurolint train detector|remover|inpainter`` and ``neurolint models``: the learned models."""

from __future__ import annotations

from pathlib import Path

import typer

train_app = typer.Typer(help="Train or fine-tune a learned model.", no_args_is_help=True)

_OUT = typer.Option(
    Path("neurolint-models"), "--out", help="Folder for the weights (.safetensors) and card."
)


def _refuse_existing(out: Path, stem: str) -> None:
    """A one-line error when ``out`` already holds weights named ``stem``."""
    from ..core.errors import OutputExistsError

    if (out / f"{stem}.safetensors").exists():
        raise OutputExistsError(
            f"{out / f'{stem}.safetensors'} already exists; choose another --out."
        )


@train_app.command("detector")
def detector(
    out: Path = _OUT,
    source: Path = typer.Option(
        None,
        "--source",
        help="Real EEG for semi-synthetic training examples (its train split only); the "
        "shipped weights used ../shared/data/eeg/eeglab_data.set.",
    ),
    labels: Path = typer.Option(
        None,
        "--labels",
        help="Fine-tune on your data: MNE annotations file or BIDS events.tsv (needs --data).",
    ),
    data: str = typer.Option(None, "--data", help="The labelled recording (with --labels)."),
    pretrained: str = typer.Option(
        "eeg-detector", "--from", help="Model to start from when fine-tuning."
    ),
    n_recordings: int = typer.Option(60, "--recordings", help="Simulated training recordings."),
    epochs: int = typer.Option(None, "--epochs", help="Epochs (default: 4, or 3 to fine-tune)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the recipe."),
) -> None:
    """Train the EEG artifact classifier, or fine-tune it on your labelled minutes."""
    from ..assess.training import finetune_detector, train_detector
    from ..core.errors import ParameterError

    if labels is not None or data is not None:
        if labels is None or data is None:
            raise ParameterError("Fine-tuning needs both --data RECORDING and --labels FILE.")
        extra = {} if epochs is None else {"epochs": epochs}
        out.mkdir(parents=True, exist_ok=True)
        path = finetune_detector(pretrained, data, labels, out=out, seed=seed, **extra)
    else:
        _refuse_existing(out, "eeg-detector")
        out.mkdir(parents=True, exist_ok=True)
        # The defaults are the recipe of the shipped weights (see the model card).
        path = train_detector(
            out,
            n_recordings=n_recordings,
            epochs=4 if epochs is None else epochs,
            steps_per_epoch=900,
            batch_size=32,
            seed=seed,
            source=None if source is None else str(source),
        )
    typer.echo(f"Wrote {path}")


@train_app.command("remover")
def remover(
    out: Path = _OUT,
    source: Path = typer.Option(
        ...,
        "--source",
        help="Real EEG with EOG for the semi-synthetic pairs (train split only); the shipped "
        "weights used ../shared/data/eeg/eeglab_data.set.",
    ),
    steps: int = typer.Option(4000, "--steps", help="Optimiser steps (64 mixtures each)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the recipe."),
    synthetic_eog: float = typer.Option(
        0.5, "--synthetic-eog", help="Fraction of ocular mixtures with synthetic EOG epochs."
    ),
    context: bool = typer.Option(
        False, "--context/--no-context", help="Give the network its neighbours' mean too."
    ),
    simulated_share: float = typer.Option(
        0.3,
        "--simulated-share",
        metavar="<float>",
        help="Fraction of mixtures on artifact-free simulated EEG instead of the recording's.",
    ),
) -> None:
    """Train the ocular, muscle and cardiac artifact remover (the shipped recipe by default)."""
    from ..core.errors import InputNotFoundError
    from ..correct.training import train_remover

    if not source.is_file():
        raise InputNotFoundError(f"{source} not found; pass a recording with EOG channels.")
    _refuse_existing(out, "eeg-remover")
    path = train_remover(
        source,
        steps=steps,
        seed=seed,
        out=out,
        progress=True,
        synthetic_eog=synthetic_eog,
        context=context,
        simulated_share=simulated_share,
    )
    typer.echo(f"Wrote {path}")


@train_app.command("inpainter")
def inpainter(
    out: Path = _OUT,
    seed: int = typer.Option(0, "--seed", help="Random seed of the recipe."),
    steps: int = typer.Option(3000, "--steps", help="Optimiser steps (32 examples each)."),
    examples: int = typer.Option(16000, "--examples", help="Training examples cut up front."),
    recordings: int = typer.Option(
        60, "--recordings", help="Simulated recordings of each kind (LFP, EEG), seeds 0..N-1."
    ),
    duration: float = typer.Option(30.0, "--duration", help="Seconds per recording."),
    band_weight: float = typer.Option(
        16.0, "--band-weight", help="Weight of the band-power term of the loss."
    ),
    validate: bool = typer.Option(
        True, "--validate/--no-validate", help="Score the model on held-back seeds for its card."
    ),
) -> None:
    """Train the learned gap inpainter on simulated LFP and EEG (the shipped recipe by
    default; no real data needed)."""
    from ..correct.inpaint_training import train_inpainter

    _refuse_existing(out, "gap-inpainter")
    path = train_inpainter(
        steps=steps,
        n_examples=examples,
        n_recordings=recordings,
        duration=duration,
        band_weight=band_weight,
        seed=seed,
        out=out,
        progress=True,
        validate=validate,
    )
    typer.echo(f"Wrote {path}")


def models() -> None:
    """List the shipped models with what their cards say."""
    from ..models.registry import list_models

    for card in list_models():
        name = card.get("name", "?")
        summary = (card.get("summary") or card.get("description") or "").split(";")[0]
        typer.echo(f"{name:<16} {summary}")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
    app.command("models")(models)
