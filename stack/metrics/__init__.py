"""Metrics: vLLM's /metrics, NVML, operational numbers for triage."""
