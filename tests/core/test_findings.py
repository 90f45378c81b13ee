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
