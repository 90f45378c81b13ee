"""QCResult.to_nwb: events in intervals and invalid_times, verdicts in the electrodes table."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

pynwb = pytest.importorskip("pynwb")

from neurolint.core.errors import ParameterError  # noqa: E402
from neurolint.core.findings import ChannelStatus, Finding, QCResult  # noqa: E402


def _nwbfile(names, starting_time=100.0, n_series=1):
    f = pynwb.NWBFile("test", "id", datetime(2026, 1, 1, tzinfo=timezone.utc))
    dev = f.create_device("amp")
    group = f.create_electrode_group("g", "grid", "cortex", dev)
    f.add_electrode_column("label", "channel name")
    for name in names:
        f.add_electrode(group=group, location="cortex", label=name)
    region = f.create_electrode_table_region(list(range(len(names))), "all")
    for i in range(n_series):
        f.add_acquisition(
            pynwb.ecephys.ElectricalSeries(
                name=f"es{i}",
                data=np.zeros((1000, len(names)), dtype=np.float32),
                electrodes=region,
                rate=100.0,
                starting_time=starting_time,
            )
        )
    return f


def _qc(names):
    channels = [ChannelStatus(n, "eeg") for n in names[:-1]]
    channels.append(ChannelStatus(names[-1], "eeg", "bad", ("flat: std 0 < 1e-7",)))
    events = [
        Finding(2.0, 0.5, "blink", ("a", "b"), 0.9, "learned"),
        Finding(1.0, 0.25, "pop", ("c",), 0.7, "rules"),
    ]
    return QCResult(
        score=80.0, channels=channels, events=events, sampling_rate=100.0, duration=10.0
    )


def test_events_land_on_the_files_clock_and_verdicts_on_their_electrodes(tmp_path):
    names = ["a", "b", "c", "d"]
    f = _nwbfile(names)
    assert _qc(names).to_nwb(f) == {"events": 2, "invalid_times": 2, "electrodes": 4}
    path = tmp_path / "qc.nwb"
    with pynwb.NWBHDF5IO(path, "w") as io:
        io.write(f)
    with pynwb.NWBHDF5IO(path, "r") as io:
        back = io.read()
        ev = back.intervals["neurolint_qc"].to_dataframe()
        assert ev["start_time"].tolist() == [101.0, 102.0]  # sorted, plus starting_time
        assert ev["stop_time"].tolist() == [101.25, 102.5]
        assert ev["kind"].tolist() == ["pop", "blink"] and ev["channels"].tolist() == ["c", "a,b"]
        assert ev["detector"].tolist() == ["rules", "learned"]
        bad = back.invalid_times.to_dataframe()
        assert [list(t) for t in bad["tags"]] == [["neurolint", "pop"], ["neurolint", "blink"]]
        el = back.electrodes.to_dataframe()
        assert el["neurolint_status"].tolist() == ["good", "good", "good", "bad"]
        assert el["neurolint_reasons"].tolist()[-1] == "flat: std 0 < 1e-7"


def test_rows_the_check_did_not_see_are_marked_not_checked():
    f = _nwbfile(["a", "b", "c", "d", "stim"], starting_time=0.0)
    assert _qc(["a", "b", "c", "d"]).to_nwb(f, invalid_times=False)["electrodes"] == 4
    assert f.invalid_times is None
    assert f.electrodes["neurolint_status"].data[-1] == "n/a"


def test_what_would_be_ambiguous_or_overwritten_is_refused():
    names = ["a", "b", "c", "d"]
    two = _nwbfile(names, n_series=2)
    with pytest.raises(ParameterError, match="say which one"):
        _qc(names).to_nwb(two)
    assert _qc(names).to_nwb(two, series="es1")["events"] == 2
    with pytest.raises(ParameterError, match="already holds intervals/neurolint_qc"):
        _qc(names).to_nwb(two, series="es1")
    f = _nwbfile(names)
    f.add_invalid_times_column("reason", "why")
    f.add_invalid_time_interval(start_time=0.0, stop_time=1.0, reason="manual")
    with pytest.raises(ParameterError, match="invalid_times=False"):
        _qc(names).to_nwb(f)
    assert "neurolint_qc" not in f.intervals  # refused before changing anything
