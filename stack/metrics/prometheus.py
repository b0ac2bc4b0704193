"""An existing Prometheus's HTTP API, read only: instant (`/api/v1/query`) and range (`/api/v1/query_range`) queries
parsed into typed samples and series.

Every failure (refused, timeout, an HTTP error carrying Prometheus's own error text, an answer that is not JSON or
not a vector/matrix) raises `PrometheusError`, a `StackError` whose message is one line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line, redact_url

MAX_ERROR_TEXT = 200  # Prometheus's parse errors can quote a whole query


class PrometheusError(StackError):
    """A query that gave no usable answer; str() is one line naming the server (credentials redacted)."""


@dataclass(frozen=True)
class Sample:
    """One series' value at one instant. `value` is None where Prometheus answered NaN or an infinity
    (a quantile over an empty window, a ratio of zeros): no number to show."""

    labels: Mapping[str, str] = field(default_factory=dict)
    value: float | None = None
    t: float = 0.0

    @property
    def name(self) -> str:
        return self.labels.get("__name__", "")


@dataclass(frozen=True)
class Series:
    """One series over a time range: (t, value) points, oldest first, non-finite values left out."""

    labels: Mapping[str, str] = field(default_factory=dict)
    points: tuple[tuple[float, float], ...] = ()

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points]


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"not a number: {str(text)[:30]!r}") from None
    return value if math.isfinite(value) else None


def _labels(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise ValueError("a result's metric is not an object")
    return {str(k): str(v) for k, v in raw.items()}


def _pair(raw: Any) -> tuple[float, float | None]:
    if not isinstance(raw, (list, tuple)) or len(raw) != 2 or isinstance(raw[0], bool):
        raise ValueError("a value is not a [time, \"number\"] pair")
    t = _number(raw[0])
    if t is None:
        raise ValueError("a value's time is not finite")
    return t, _number(raw[1])


def parse_data(payload: Any) -> tuple[str, Any]:
    """The `data` of a successful answer as (resultType, result); ValueError for anything else."""
    if not isinstance(payload, Mapping):
        raise ValueError("the answer is not a JSON object")
    if payload.get("status") != "success":
        kind = payload.get("errorType") or "error"
        raise ValueError(f"{kind}: {str(payload.get('error') or 'no error text')[:MAX_ERROR_TEXT]}")
    data = payload.get("data")
    if not isinstance(data, Mapping) or not isinstance(data.get("resultType"), str):
        raise ValueError("the answer has no data.resultType")
    return data["resultType"], data.get("result")


def parse_vector(payload: Any) -> list[Sample]:
    """An instant query's answer. A scalar (`scalar(...)`, `time()`) becomes one sample without labels."""
    kind, result = parse_data(payload)
    if kind == "scalar":
        t, value = _pair(result)
        return [Sample({}, value, t)]
    if kind != "vector":
        raise ValueError(f"expected a vector, got a {kind[:20]}")
    if not isinstance(result, list):
        raise ValueError("the vector's result is not a list")
    samples = []
    for item in result:
        if not isinstance(item, Mapping):
            raise ValueError("a vector element is not an object")
        t, value = _pair(item.get("value"))
        samples.append(Sample(_labels(item.get("metric", {})), value, t))
    return samples


def parse_matrix(payload: Any) -> list[Series]:
    """A range query's answer."""
    kind, result = parse_data(payload)
    if kind != "matrix":
        raise ValueError(f"expected a matrix, got a {kind[:20]}")
    if not isinstance(result, list):
        raise ValueError("the matrix's result is not a list")
    series = []
    for item in result:
        if not isinstance(item, Mapping) or not isinstance(item.get("values"), list):
            raise ValueError("a matrix element has no values list")
        points = []
        for raw in item["values"]:
            t, value = _pair(raw)
            if value is not None:
                points.append((t, value))
        series.append(Series(_labels(item.get("metric", {})), tuple(points)))
    return series


class PrometheusClient:
    """Queries one Prometheus over HTTP, keeping the connection between calls. Blocking: call from workers."""

    def __init__(self, url: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None):
        self.url = url.rstrip("/")
        self.shown = redact_url(self.url) or self.url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._client = None

    def query(self, promql: str, at: float | None = None) -> list[Sample]:
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self._ask("/api/v1/query", params, parse_vector)

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{max(step, 0.001):g}"}
        return self._ask("/api/v1/query_range", params, parse_matrix)

    def _ask(self, path: str, params: dict, parse):
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, trust_env=False, headers=self.headers)
        try:
            # POST form: long PromQL (regex matchers over many names) does not hit URL length limits
            response = self._client.post(self.url + path, data=params)
        except httpx.ConnectError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else one_line(exc)
            raise PrometheusError(f"Prometheus at {self.shown}: {reason}") from None
        except httpx.TimeoutException:
            raise PrometheusError(f"Prometheus at {self.shown}: no answer in {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.shown}: {one_line(exc)}") from None
        except Exception as exc:  # a malformed URL
            raise PrometheusError(f"Prometheus at {self.shown}: {one_line(exc)}") from None
        if response.status_code in (401, 403):  # a Prometheus behind auth: say what to configure, not "not JSON"
            how = "the credentials sent were refused" if self.headers or "@" in self.url else "it asks for credentials"
            raise PrometheusError(f"Prometheus at {self.shown}: HTTP {response.status_code}, {how}: set [prometheus] "
                                  "bearer_token or headers, or user:password in the URL") from None
        try:
            payload = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            what = response.headers.get("content-type", "no content type").split(";")[0]
            status = f"HTTP {response.status_code}, " if response.status_code >= 400 else ""
            raise PrometheusError(f"Prometheus at {self.shown}: {status}the answer is not JSON ({what[:40]}); "
                                  "is this URL a Prometheus?") from None
        try:
            result = parse(payload)
        except ValueError as exc:
            status = f"HTTP {response.status_code} " if response.status_code >= 400 else ""
            raise PrometheusError(f"Prometheus at {self.shown}: {status}{one_line(exc)}") from None
        if response.status_code >= 400:  # a success body with an error status: say the status
            raise PrometheusError(f"Prometheus at {self.shown}: HTTP {response.status_code}")
        return result

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
