"""The model registry loads shipped safetensors weights and refuses damaged ones."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from neurolint.core.errors import CorruptFileError, InputNotFoundError, NeurolintError
from neurolint.models import list_models, load_card, load_model, save_model
from neurolint.models.registry import CARDS_DIR, MODELS, WEIGHTS_DIR

torch = pytest.importorskip("torch")


def _copy_shipped(tmp_path):
    weights = tmp_path / "m.safetensors"
    shutil.copy(WEIGHTS_DIR / MODELS["eeg-detector"]["weights"], weights)
    shutil.copy(CARDS_DIR / MODELS["eeg-detector"]["card"], tmp_path / "m.json")
    return weights


def test_every_registered_model_loads_and_runs_on_its_input_spec():
    total = 0
    for name, entry in MODELS.items():
        module, config = load_model(name, map_device="cpu")
        card = load_card(name)
        assert card["recipe"] and card["training"]
        total += (WEIGHTS_DIR / entry["weights"]).stat().st_size
        if name == "eeg-detector":
            n_in = config["arch"]["n_inputs"]
            out = module(torch.zeros(2, n_in, 512))
            assert out.shape == (2, len(config["kinds"]), 512 // 64)
            assert card["training"]["seeds"]
            assert set(config["thresholds"]) == set(config["kinds"]) - {"clean"}
        else:
            n = config["input"]["epoch_samples"]
            n_in = config["arch"].get("in_channels", 1)
            assert module(torch.zeros(2, n_in, n)).shape == (2, 1, n)
    assert total < 5_000_000  # every shipped model together


def test_list_models_summarises_cards():
    names = [m["name"] for m in list_models()]
    assert names == list(MODELS)
    assert all(m["weights_bytes"] > 0 for m in list_models())


def test_tampered_weights_raise_a_clear_error(tmp_path):
    weights = _copy_shipped(tmp_path)
    raw = bytearray(weights.read_bytes())
    raw[-100:] = bytes(100)  # damage the tensor data, keep the size
    weights.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="SHA-256"):
        load_model(weights)


def test_truncated_weights_without_checksum_raise_a_clear_error(tmp_path):
    weights = _copy_shipped(tmp_path)
    card = (tmp_path / "m.json").read_text().replace('"weights_sha256"', '"old_sha"')
    (tmp_path / "m.json").write_text(card)
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(CorruptFileError, match="cannot be read"):
        load_model(weights)


def test_missing_weights_or_card_raise_not_found(tmp_path):
    weights = _copy_shipped(tmp_path)
    weights.unlink()
    with pytest.raises(InputNotFoundError, match="missing"):
        load_model(weights)
    with pytest.raises(InputNotFoundError):
        load_model(tmp_path / "absent.safetensors")


def test_unknown_name_is_a_neurolint_error():
    with pytest.raises(NeurolintError, match="Unknown model"):
        load_model("no-such-model")


def test_save_then_load_round_trips_the_weights(tmp_path):
    module, config = load_model("eeg-detector", map_device="cpu")
    path = save_model(module, config, {"training": {"seeds": "0"}}, "copy", tmp_path)
    again, config2 = load_model(path, map_device="cpu")
    assert config2 == config
    for (k, a), (_, b) in zip(module.state_dict().items(), again.state_dict().items(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy()), k
