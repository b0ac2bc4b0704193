"""KV-cache capacity against the graph's fan-out, and the KV-starvation alarm: plain arithmetic, no I/O.

The numbers follow vLLM's paged KV cache: a sequence of L tokens holds ceil(L / block_size) blocks, so
floor(num_blocks / ceil(L / block_size)) sequences of length L fit at once. A supervisor graph that fans out to N
workers needs N sequences in flight; the seed's rule sizes `--max-num-seqs` to the peak fan-out + 20%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

# bytes per element of the KV cache, by dtype name (vLLM's --kv-cache-dtype and HF's torch_dtype / dtype)
DTYPE_BYTES = {
    "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1, "fp8_inc": 1, "fp8_ds_mla": 1, "float8_e4m3fn": 1, "float8_e5m2": 1,
    "int8": 1, "uint8": 1,
    "bf16": 2, "bfloat16": 2, "fp16": 2, "float16": 2, "half": 2,
    "fp32": 4, "float32": 4, "float": 4,
}
HEADROOM = 0.2  # the seed's rule: max_num_seqs >= peak fan-out + 20%
END_NODES = {"__end__", "END"}


class CapacityError(ValueError):
    """A model config that lacks what the KV arithmetic needs; the message names the missing key."""


def dtype_bytes(name: str | None) -> int | None:
    if not name:
        return None
    return DTYPE_BYTES.get(str(name).lower().removeprefix("torch."))


@dataclass(frozen=True)
class KvFootprint:
    """What one token costs in the KV cache of one GPU."""

    layers: int
    kv_heads: int  # per GPU, after tensor parallel split
    head_dim: int
    dtype_bytes: int
    mla_dim: int | None = None  # DeepSeek-style latent attention: one compressed vector per layer, no K/V pair

    @property
    def bytes_per_token(self) -> int:
        if self.mla_dim:
            return self.layers * self.mla_dim * self.dtype_bytes
        return 2 * self.layers * self.kv_heads * self.head_dim * self.dtype_bytes


def kv_footprint(model_config: Mapping, kv_cache_dtype: str | None = "auto", tensor_parallel: int = 1) -> KvFootprint:
    """From a Hugging Face config.json. KV heads are split over tensor-parallel ranks (replicated when fewer)."""
    cfg = model_config.get("text_config") or model_config  # multimodal configs nest the language model
    if not isinstance(cfg, Mapping):
        raise CapacityError("model config: text_config is not an object")
    layers = cfg.get("num_hidden_layers")
    heads = cfg.get("num_attention_heads")
    kv_heads = cfg.get("num_key_value_heads") or heads
    head_dim = cfg.get("head_dim")
    if not head_dim and cfg.get("hidden_size") and heads:
        head_dim = cfg["hidden_size"] // heads
    for key, value in (("num_hidden_layers", layers), ("num_key_value_heads or num_attention_heads", kv_heads),
                       ("head_dim or hidden_size", head_dim)):
        if not value:
            raise CapacityError(f"model config: {key} missing")
    if kv_cache_dtype and kv_cache_dtype != "auto":
        size = dtype_bytes(kv_cache_dtype)
        if size is None:
            raise CapacityError(f"unknown kv cache dtype {kv_cache_dtype!r}")
    else:
        model_dtype = (cfg.get("torch_dtype") or cfg.get("dtype")
                       or model_config.get("torch_dtype") or model_config.get("dtype"))
        size = dtype_bytes(model_dtype) or 2  # vLLM serves an unspecified dtype as bf16/fp16
    tp = max(1, int(tensor_parallel or 1))
    mla = None
    if cfg.get("kv_lora_rank"):
        mla = int(cfg["kv_lora_rank"]) + int(cfg.get("qk_rope_head_dim") or 0)  # replicated on every rank
    return KvFootprint(layers=int(layers), kv_heads=max(1, math.ceil(int(kv_heads) / tp)), head_dim=int(head_dim),
                       dtype_bytes=size, mla_dim=mla)


def kv_bytes_per_token(model_config: Mapping, kv_cache_dtype: str | None = "auto", tensor_parallel: int = 1) -> int:
    return kv_footprint(model_config, kv_cache_dtype, tensor_parallel).bytes_per_token


def blocks_per_sequence(context_len: int, block_size: int) -> int:
    return max(1, math.ceil(context_len / block_size))


def sequences_that_fit(num_blocks: int, block_size: int, context_len: int) -> int:
    """How many sequences of context_len tokens the KV cache holds at once."""
    if num_blocks <= 0 or block_size <= 0 or context_len <= 0:
        return 0
    return num_blocks // blocks_per_sequence(context_len, block_size)


def num_blocks_for(kv_bytes: int, bytes_per_token: int, block_size: int) -> int:
    """What vLLM allocates from a KV budget: whole blocks only."""
    return kv_bytes // (block_size * bytes_per_token)


def recommended_max_num_seqs(fan_out: int, headroom: float = HEADROOM) -> int:
    """The seed's rule: peak fan-out plus 20%, rounded up (a fan-out of 3 wants 4)."""
    if fan_out <= 0:
        return 1
    return math.ceil(round(fan_out * (1 + headroom), 9))


# --- graph fan-out -------------------------------------------------------------------------------------------

def fan_out_from_topology(topology: Mapping | None) -> int:
    """The most branches one node starts at once: targets of one source (parallel or conditional edges).

    Conditional edges count as possible parallel branches (a Send fan-out is drawn that way); edges to END do not.
    `{"nodes": [...], "edges": [{"source", "target", "conditional"?}]}` as LangGraph's `get_graph().to_json()`.
    """
    if not topology:
        return 0
    targets: dict[str, set[str]] = {}
    for edge in topology.get("edges") or []:
        source, target = edge.get("source"), edge.get("target")
        if source is None or target is None or target in END_NODES:
            continue
        targets.setdefault(str(source), set()).add(str(target))
    if not targets:
        return 1 if topology.get("nodes") else 0
    return max(len(t) for t in targets.values())


def fan_out_from_sends(send_counts: Iterable[int]) -> int:
    """The largest number of Sends one step issued in observed runs (a map-reduce fans out past its edges)."""
    return max((int(c) for c in send_counts), default=0)


def graph_fan_out(topology: Mapping | None = None, send_counts: Iterable[int] = ()) -> int:
    return max(fan_out_from_topology(topology), fan_out_from_sends(send_counts))


# --- the capacity report -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    level: str  # ok | warn | bad | info
    text: str


@dataclass(frozen=True)
class CapacityReport:
    context_len: int | None
    block_size: int | None
    num_blocks: int | None
    kv_tokens: int | None
    sequences_fit: int | None  # at context_len
    sequences_free: int | None  # at context_len, with the cache as full as it is now
    fan_out: int | None
    max_num_seqs: int | None
    recommended_max_num_seqs: int | None
    bytes_per_token: int | None
    verdicts: tuple[Verdict, ...] = ()

    @property
    def worst(self) -> str:
        order = {"bad": 3, "warn": 2, "ok": 1, "info": 0}
        return max((v.level for v in self.verdicts), key=order.get, default="info")


def capacity_report(*, num_blocks: int | None, block_size: int | None, context_len: int | None,
                    fan_out: int | None = None, max_num_seqs: int | None = None, usage: float | None = None,
                    bytes_per_token: int | None = None) -> CapacityReport:
    """Sequences that fit at the context length against the graph's fan-out and vLLM's --max-num-seqs."""
    verdicts: list[Verdict] = []
    fit = free = None
    kv_tokens = num_blocks * block_size if num_blocks and block_size else None
    if num_blocks and block_size and context_len:
        fit = sequences_that_fit(num_blocks, block_size, context_len)
        if usage is not None:
            free_blocks = int(num_blocks * max(0.0, 1.0 - usage))
            free = sequences_that_fit(free_blocks, block_size, context_len) if free_blocks else 0
    recommended = recommended_max_num_seqs(fan_out) if fan_out else None
    ctx = f"{context_len:,}" if context_len else "?"
    if fit is None:
        verdicts.append(Verdict("info", "KV cache size unknown (no cache_config_info from vLLM yet)"
                                if not (num_blocks and block_size) else "context length unknown"))
    if fan_out and recommended:
        if max_num_seqs is None:
            verdicts.append(Verdict("info", f"graph fans out to {fan_out}: "
                                            f"run vLLM with --max-num-seqs >= {recommended}"))
        elif max_num_seqs < recommended:
            level = "bad" if max_num_seqs < fan_out else "warn"
            verdicts.append(Verdict(level, f"--max-num-seqs {max_num_seqs} < fan-out {fan_out} + 20% = {recommended}: "
                                           f"raise it to {recommended}"))
        else:
            verdicts.append(Verdict("ok", f"--max-num-seqs {max_num_seqs} covers fan-out {fan_out} "
                                          f"+ 20% ({recommended})"))
    if fit is not None:
        if fan_out and fit < fan_out:
            verdicts.append(Verdict("bad", f"KV cache holds {fit:,} sequences of {ctx} tokens but the graph fans "
                                           f"out to {fan_out}: expect preemptions; give vLLM more KV memory, fp8 KV "
                                           "or a shorter --max-model-len"))
        elif max_num_seqs and fit < max_num_seqs:
            verdicts.append(Verdict("warn", f"KV cache holds {fit:,} sequences of {ctx} tokens, fewer than "
                                            f"--max-num-seqs {max_num_seqs}: a full batch of long prompts preempts"))
        else:
            verdicts.append(Verdict("ok", f"KV cache holds {fit:,} sequences of {ctx} tokens"
                                          + (f" for a fan-out of {fan_out}" if fan_out else "")))
    if not fan_out:
        verdicts.append(Verdict("info", "graph fan-out unknown (no topology or runs seen)"))
    return CapacityReport(context_len=context_len, block_size=block_size, num_blocks=num_blocks, kv_tokens=kv_tokens,
                          sequences_fit=fit, sequences_free=free, fan_out=fan_out or None, max_num_seqs=max_num_seqs,
                          recommended_max_num_seqs=recommended, bytes_per_token=bytes_per_token,
                          verdicts=tuple(verdicts))


# --- starvation ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StarvationSample:
    """The four signals of one scrape that the alarm looks at."""

    t: float
    usage: float | None
    running: int | None
    waiting: int | None
    preemptions: float | None

    @classmethod
    def of(cls, metrics, t: float | None = None) -> StarvationSample:
        """From a `VllmMetrics` (any object with kv_cache_usage, running, waiting, preemptions_total)."""
        return cls(metrics.taken_at if t is None else t, metrics.kv_cache_usage, metrics.running, metrics.waiting,
                   metrics.preemptions_total)


@dataclass
class StarvationEpisode:
    onset_at: float | None  # first scrape of the episode with the KV cache full and requests waiting
    first_preemption_at: float | None  # first scrape that saw the preemption counter rise
    fired_at: float
    cleared_at: float | None = None
    peak_waiting: int = 0
    preemptions: float = 0.0
    threads: set[str] = field(default_factory=set)  # threads with runs in flight while it fired

    @property
    def time_to_detect(self) -> float | None:
        """Seconds from the first preemption (the first harm) to the alarm."""
        return None if self.first_preemption_at is None else self.fired_at - self.first_preemption_at

    @property
    def since_onset(self) -> float | None:
        """Seconds from KV saturation with a queue to the alarm."""
        return None if self.onset_at is None else self.fired_at - self.onset_at


class StarvationDetector:
    """KV-cache starvation: usage >= threshold AND running < max_num_seqs AND waiting > 0 AND preemptions rising.

    "Rising" means the preemption counter grew within the last `preemption_window` seconds (preemptions come in
    bursts, so a single quiet scrape between two bursts must not clear the alarm). The alarm clears once the
    condition has not held for `clear_after` seconds. With max_num_seqs unknown, the batch limit is not checked.
    """

    def __init__(self, max_num_seqs: int | None = None, usage_threshold: float = 0.9, clear_after: float = 5.0,
                 preemption_window: float = 10.0):
        self.max_num_seqs = max_num_seqs
        self.usage_threshold = usage_threshold
        self.clear_after = clear_after
        self.preemption_window = preemption_window
        self.episodes: list[StarvationEpisode] = []
        self._last: StarvationSample | None = None
        self._last_rise_at: float | None = None
        self._first_rise_at: float | None = None  # since the last clear
        self._onset_at: float | None = None
        self._last_pressure_at: float | None = None
        self._last_true_at: float | None = None

    @property
    def current(self) -> StarvationEpisode | None:
        if self.episodes and self.episodes[-1].cleared_at is None:
            return self.episodes[-1]
        return None

    @property
    def firing(self) -> bool:
        return self.current is not None

    def pressure(self, s: StarvationSample) -> bool:
        """KV cache full with requests queued while the batch has room: the first half of the signature."""
        if s.usage is None or s.waiting is None or s.running is None:
            return False
        below_limit = self.max_num_seqs is None or s.running < self.max_num_seqs
        return s.usage >= self.usage_threshold and s.waiting > 0 and below_limit

    def update(self, sample: StarvationSample, in_flight_threads: Iterable[str] = ()) -> StarvationEpisode | None:
        """Feed one scrape; returns the episode that is firing after it, if any."""
        last = self._last
        if last is not None and sample.t <= last.t:
            return self.current
        t = sample.t
        rose = (last is not None and last.preemptions is not None and sample.preemptions is not None
                and sample.preemptions > last.preemptions)
        if rose:
            self._last_rise_at = t
            if self._first_rise_at is None:
                self._first_rise_at = t
        pressure = self.pressure(sample)
        if pressure:
            # short dips below the threshold (usage oscillates as requests finish) do not start a new spell
            if self._onset_at is None or t - (self._last_pressure_at or t) >= self.clear_after:
                self._onset_at = t
            self._last_pressure_at = t
        rising = self._last_rise_at is not None and t - self._last_rise_at <= self.preemption_window
        episode = self.current
        if pressure and rising:
            self._last_true_at = t
            if episode is None:
                episode = StarvationEpisode(onset_at=self._onset_at, first_preemption_at=self._first_rise_at,
                                            fired_at=t)
                self.episodes.append(episode)
        elif episode is not None and t - (self._last_true_at or t) >= self.clear_after:
            episode.cleared_at = t
            episode = None
            self._onset_at = None
            self._first_rise_at = self._last_rise_at if rising else None
        if episode is None:
            if self._last_pressure_at is not None and t - self._last_pressure_at >= self.clear_after:
                self._onset_at = None
            if not rising:
                self._first_rise_at = None  # an old burst of preemptions is not the start of the next episode
        else:
            episode.peak_waiting = max(episode.peak_waiting, sample.waiting or 0)
            if rose and last is not None:
                episode.preemptions += sample.preemptions - last.preemptions
            episode.threads.update(in_flight_threads)
        self._last = sample
        return episode
