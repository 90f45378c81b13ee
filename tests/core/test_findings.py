"""QC results and correction logs: validated, and their JSON form is a stable contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurolint.core import ChannelStatus, CorrectionLog, CorrectionStep, Finding, QCResult, Region
from neurolint.core.errors import ParameterError, SidecarError


def _qc():
    return QCResult(
        score=72.5,
        sampling_rate=256.0,
        duration=60.0,
        channels=[
            ChannelStatus("Fp1", "eeg"),
            ChannelStatus("T7", "eeg", "bad", ("flat",), {"std": 0.0}),
        ],
        events=[Finding(1.5, 0.3, "blink", ("Fp1",), 0.9, "rules", {"threshold": 100e-6})],
        quality=np.array([[1.0, 0.0], [0.8, 0.1]]),
        window_duration=30.0,
        source="x.edf",
    )


def test_qc_json_has_the_documented_top_level_fields():
    data = json.loads(_qc().to_json())
    assert {"schema_version", "score", "sampling_rate", "duration", "channels", "events"} <= set(
        data
    )
    assert set(data["channels"][1]) >= {"name", "type", "status", "reasons", "scores"}
    assert set(data["events"][0]) >= {
        "onset",
        "duration",
        "channels",
        "kind",
        "confidence",
        "detector",
    }


def test_qc_round_trips_through_json():
    qc = _qc()
    back = QCResult.from_json(qc.to_json())
    assert back.bad_channels == ["T7"]
    assert back.events == qc.events
    assert back.channels == qc.channels
    np.testing.assert_allclose(back.quality, qc.quality)
    assert back.events_of("blink")[0].offset == pytest.approx(1.8)


def test_written_json_parses_to_the_dict_with_every_kind_of_trace():
    qc = _qc()
    qc.traces = {
        "x": {
            "vector": np.linspace(0, 1, 300),  # several lines of values
            "with_nan": np.array([1.0, np.nan, 2.5], np.float32),
            "matrix": np.arange(12.0).reshape(3, 4) / 7,
            "cube": np.arange(24.0).reshape(2, 3, 4) / 7,
            "empty": np.zeros(0),
            "ints": np.arange(5),
            "scalar": np.float64(3.25),
            "label": "motion",
        }
    }
    expected = json.loads(json.dumps(qc.to_dict(), allow_nan=False))
    assert json.loads(qc.to_json()) == expected
    assert json.loads(qc.to_json(indent=None)) == expected
    assert expected["traces"]["x"]["with_nan"] == [1.0, None, 2.5]


def test_writing_json_does_not_build_the_quality_matrix_as_lists(tmp_path):
    import tracemalloc

    qc = _qc()
    qc.channels = [ChannelStatus(f"E{i}", "eeg") for i in range(64)]
    qc.quality = np.random.default_rng(0).random((20_000, 64)).astype(np.float32)
    path = tmp_path / "qc.json"
    with open(path, "w") as fh:
        tracemalloc.start()
        qc.write_json(fh)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # As nested lists the matrix would be 1.28 M Python floats, over 40 MB.
    assert peak < 2e6
    np.testing.assert_allclose(QCResult.from_json(path.read_text()).quality, qc.quality, atol=5e-5)


def test_findings_are_validated():
    with pytest.raises(ParameterError, match="Unknown finding kind"):
        Finding(0.0, 1.0, "sneeze")
    with pytest.raises(ParameterError, match="confidence"):
        Finding(0.0, 1.0, "blink", confidence=1.5)
    with pytest.raises(ParameterError, match="onset"):
        Finding(float("nan"), 1.0, "blink")
    with pytest.raises(ParameterError, match="status"):
        ChannelStatus("a", status="meh")
    with pytest.raises(ParameterError, match="score"):
        QCResult(score=120, sampling_rate=1, duration=1)
    with pytest.raises(ParameterError, match="quality"):
        QCResult(
            score=1,
            sampling_rate=1,
            duration=1,
            channels=[ChannelStatus("a")],
            quality=np.ones((2, 3)),
        )


def test_future_schema_versions_are_refused_clearly():
    data = json.loads(_qc().to_json())
    data["schema_version"] = "2.0"
    with pytest.raises(SidecarError, match="schema"):
        QCResult.from_dict(data)
    with pytest.raises(SidecarError, match="not valid JSON"):
        QCResult.from_json("{")


def test_correction_log_round_trips_through_json():
    log = CorrectionLog(source="in.fif")
    log.add(
        CorrectionStep(
            "line_noise", "notch", {"freqs": [50, 100]}, [Region(0.0, 60.0)], {"Fp1": 0.02}
        )
    )
    log.add(CorrectionStep("channels", "spherical_spline", skipped="no positions"))
    back = CorrectionLog.from_json(log.to_json())
    assert back.to_dict() == log.to_dict()
    assert back.steps[1].skipped == "no positions"
