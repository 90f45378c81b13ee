"""Adapters to the ecosystem (MNE, SpikeInterface, NWB); heavy packages are imported lazily."""
