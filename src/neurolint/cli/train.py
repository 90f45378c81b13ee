"""``neurolint train detector`` and ``neurolint models``: the learned components."""

from __future__ import annotations

from pathlib import Path

import typer

train_app = typer.Typer(help="Train or fine-tune a learned model.", no_args_is_help=True)


@train_app.command("detector")
def detector(
    out: Path = typer.Option(
        None, "--out", help="Folder for the weights (.safetensors) and card (.json)."
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
    epochs: int = typer.Option(None, "--epochs", help="Training epochs (default: the recipe's)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the recipe."),
) -> None:
    """Train the EEG artifact classifier, or fine-tune it on your labelled minutes."""
    from ..assess.training import finetune_detector, train_detector
    from ..core.errors import ParameterError

    extra = {} if epochs is None else {"epochs": epochs}
    if labels is not None or data is not None:
        if labels is None or data is None:
            raise ParameterError("Fine-tuning needs both --data RECORDING and --labels FILE.")
        path = finetune_detector(pretrained, data, labels, out=out, seed=seed, **extra)
    else:
        path = train_detector(out=out, seed=seed, **extra)
    typer.echo(f"Wrote {path}")


def models() -> None:
    """List the shipped models with what their cards say."""
    from ..models.registry import list_models

    for card in list_models():
        name = card.get("name", "?")
        summary = card.get("summary") or card.get("description") or ""
        typer.echo(f"{name:<16} {summary}")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
    app.command("models")(models)
